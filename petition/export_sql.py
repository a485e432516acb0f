"""The CSV export formatted by the database: the bytes of exports.csv_lines, several times faster.

Formatting a million rows cell by cell in Python tops out near a quarter of the database's own
CSV dump. Here the database does what exports.csv_cell does (yes/no, ISO 8601 UTC times, a '
before anything a spreadsheet would run as a formula, country names, '' for NULL) and sends
each row as one text, its cells between unit separators; Python only adds the CSV quoting:
in bulk where no cell holds a comma, a double quote or a line break, through the csv module
itself for the rows where one does. SQLite returns a text per row; PostgreSQL streams them
with COPY, the rows of a range of keys in one COPY row (psycopg reads each COPY row in Python).
A row whose data holds a separator is written through the Python path.
tests/test_export_sql.py proves the bytes equal to the Python path's on generated hostile rows.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from babel import Locale
from sqlalchemy import (
    Boolean,
    DateTime,
    Enum,
    Integer,
    Select,
    String,
    TypeDecorator,
    case,
    cast,
    func,
    literal,
    not_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement

from .countries import country_name
from .exports import _FORMULA_TRIGGERS, BYTE_ORDER_MARK, COLUMNS, TIME_COLUMN, csv_cell, export_rows
from .extensions import db

# SQLite: rows per fetch, about half a megabyte of CSV: memory stays flat whatever the size.
_ROWS_PER_FETCH = 5000
# Between a row's cells, and between rows: control characters no form or import accepts.
# A row whose data holds one anyway is found by counting them.
_CELL_SEPARATOR = "\x1f"
_ROW_SEPARATOR = "\x1e"
# What makes the csv module quote a cell: its delimiter, quote character, line terminator.
_QUOTED_BY_CSV = (b",", b'"', b"\r", b"\n")
# PostgreSQL: the rows of a range of this many keys in one COPY row.
_KEYS_PER_CHUNK = 1000
# Every formula trigger comes before "A": a text starting at "A" or above is left as it is.
_BELOW_A = ord("A") - 1
assert all(ord(trigger) <= _BELOW_A for trigger in _FORMULA_TRIGGERS)  # noqa: S101
_TIME_FORMAT_POSTGRESQL = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'  # exports._utc_text's form


@dataclass(frozen=True)
class _Cell:
    """One exported cell in SQL; `plain` when it is never a stored text (never holds a NUL)."""

    sql: ColumnElement
    plain: bool = False


def supports(query: Select, who: str) -> bool:
    """Whether the database can write this export (else: the Python path).

    It can when it can format every column, and the rows are in the order of their key
    (the order of queries.export_*, which PostgreSQL's ranges of keys keep).
    """
    dialect = db.session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql") or _cells(query, who, dialect) is None:
        return False
    order = query._order_by_clauses  # no public accessor
    return len(order) == 1 and order[0].compare(_primary_key(query))


def export_csv(query: Select, who: str, tally, locale: str = "en") -> Iterator[bytes]:
    """The CSV of a query of queries.export_*, byte for byte exports.csv_lines' (see supports).

    `tally` (an exports._Tally) gets the row count and the time window, complete once the
    last chunk is out. `locale` is the country names' language, as in exports.export_rows.
    """
    dialect = db.session.get_bind().dialect.name
    cells = _cells(query, who, dialect, locale)
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(COLUMNS[who])
    yield (BYTE_ORDER_MARK + header.getvalue()).encode("utf-8")
    if dialect == "postgresql":
        yield from _postgresql_csv(query, who, cells, tally)
    else:
        yield from _sqlite_csv(query, who, cells, tally)


# --- Cells in SQL ---


def _cells(query: Select, who: str, dialect: str, locale: str = "en") -> list[_Cell] | None:
    """Each exported cell as csv_cell writes it ('' for NULL); None if a column has no SQL."""
    columns = query.selected_columns
    cells = []
    for name in COLUMNS[who]:
        if name == "country_name":
            cell = _country_name_cell(columns["country"], dialect, locale)
        elif name in columns:
            cell = _cell(columns[name], dialect)
        else:
            cell = None
        if cell is None:
            return None
        cells.append(cell)
    return cells


def _cell(column: ColumnElement, dialect: str) -> _Cell | None:
    type_ = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    if isinstance(type_, Boolean):
        return _Cell(case((column, "yes"), (not_(column), "no"), else_=""), plain=True)
    if isinstance(type_, DateTime):
        return _Cell(_time_cell(column, type_, dialect), plain=True)
    if isinstance(type_, Enum) and all(csv_cell(value) == value for value in type_.enums):
        # Stored values such as "confirmed" (a constraint keeps them to these): as they are.
        return _Cell(func.coalesce(type_coerce(column, String), ""), plain=True)
    if isinstance(type_, String):  # an Enum whose values need a ' lands here too
        return _Cell(_text_cell(type_coerce(column, String), dialect))
    if isinstance(type_, Integer):
        return _Cell(_text_cell(cast(column, String), dialect))  # "-1" needs its '
    return None


def _text_cell(text: ColumnElement, dialect: str) -> ColumnElement:
    """csv_cell of a text: behind a ' when it starts like a formula, after any spaces."""
    # SQLite's unicode() is NULL for '' and for a leading NUL; PostgreSQL's ascii() is 0
    # for '' (its texts cannot hold a NUL).
    first = func.unicode if dialect == "sqlite" else func.ascii
    trimmed = func.ltrim(text, " ")
    triggers = [ord(trigger) for trigger in _FORMULA_TRIGGERS if trigger != "\0"]
    conditions = [
        (first(text) > _BELOW_A, text),  # most cells: one cheap test
        (text.is_(None), ""),
        (first(trimmed).in_(triggers), literal("'") + text),
    ]
    if dialect == "sqlite":  # a NUL after the spaces
        conditions.append((first(trimmed).is_(None) & (trimmed != ""), literal("'") + text))
    return case(*conditions, else_=text)


def _time_cell(column: ColumnElement, type_: DateTime, dialect: str) -> ColumnElement:
    """exports._utc_text of a time: YYYY-MM-DDTHH:MM:SSZ, the fraction of a second cut."""
    if dialect == "sqlite":
        # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff", naive UTC (models.UTCDateTime).
        stored = type_coerce(column, String)
        text = func.substr(stored, 1, 10) + "T" + func.substr(stored, 12, 8) + "Z"
    else:
        moment = func.timezone("UTC", column) if type_.timezone else column
        text = func.to_char(moment, _TIME_FORMAT_POSTGRESQL)
    return func.coalesce(text, "")


@cache
def _country_name_cells(locale: str) -> tuple[tuple[str, str], ...]:
    """(code, csv_cell of its name) for every code country_name knows, sorted by code."""
    codes = Locale.parse(locale).territories
    return tuple(sorted((code, csv_cell(country_name(code, locale))) for code in codes))


def _country_name_cell(code: ColumnElement, dialect: str, locale: str) -> _Cell:
    """The country's name for its code; an unknown code as itself, as country_name does."""
    if dialect == "postgresql":
        code = code.collate("C")  # the search below compares codes by code point
    name = func.coalesce(_search(code, _country_name_cells(locale)), _text_cell(code, dialect))
    return _Cell(name)


def _search(code: ColumnElement, pairs: tuple[tuple[str, str], ...]) -> ColumnElement:
    # A binary search in nested CASEs: 9 comparisons per row where a flat CASE of 300
    # codes makes 150 on average (a second of SQLite's time per million rows).
    if len(pairs) == 1:
        key, name = pairs[0]
        return case((code == key, literal(name)))
    middle = len(pairs) // 2
    return case(
        (code < pairs[middle][0], _search(code, pairs[:middle])),
        else_=_search(code, pairs[middle:]),
    )


def _primary_key(query: Select) -> ColumnElement:
    (table,) = query.get_final_froms()
    (key,) = table.primary_key.columns
    return key


def _sql(query: Select) -> str:
    """The query as SQL text, its values written in (COPY takes no parameters).

    Every value in an export's query is its filters' own, checked by ExportFilters.problems
    (an id, enum values, dates, a known country code), and SQLAlchemy quotes them.
    """
    dialect = db.session.get_bind().dialect
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


# --- Rows into CSV ---


def _csv_rows(rows: list[list[str]]) -> bytes:
    """Rows of finished cells as the csv module writes them (exports.csv_lines' writer)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _to_csv(data: bytes) -> bytes:
    """Rows of finished cells (between unit separators, each ending in a record one) as CSV.

    A row without a byte the csv module quotes for is written as it is, separators
    swapped, in bulk. The others go through the csv module. One memchr pass per such
    byte: no loop over the rows in Python.
    """
    separator, end = _CELL_SEPARATOR.encode(), _ROW_SEPARATOR.encode()
    pieces = []
    start = 0
    next_at = {byte: data.find(byte) for byte in _QUOTED_BY_CSV}
    while True:
        for byte, at in next_at.items():
            if 0 <= at < start:
                next_at[byte] = data.find(byte, start)
        hits = [at for at in next_at.values() if at >= 0]
        if not hits:
            break
        hit = min(hits)
        previous_end = data.rfind(end, start, hit)
        row_start = start if previous_end < 0 else previous_end + 1
        row_end = data.index(end, hit)
        pieces.append(data[start:row_start].replace(separator, b",").replace(end, b"\r\n"))
        pieces.append(_csv_rows([_split_cells(data[row_start:row_end])]))
        start = row_end + 1
    pieces.append(data[start:].replace(separator, b",").replace(end, b"\r\n"))
    return b"".join(pieces)


# --- SQLite ---


def _sqlite_line(cells: list[_Cell]) -> ColumnElement:
    """The cells between separators in one text.

    Stored texts are joined with || (printf would cut them at a NUL); runs of plain cells
    go through one printf, which costs less than their ||s.
    """
    line, run = None, []

    def close_run():
        nonlocal line, run
        if run:
            piece = func.printf(_CELL_SEPARATOR.join(["%s"] * len(run)), *run)
            line = piece if line is None else line + _CELL_SEPARATOR + piece
            run = []

    for cell in cells:
        if cell.plain:
            run.append(cell.sql)
            continue
        close_run()
        line = cell.sql if line is None else line + _CELL_SEPARATOR + cell.sql
    close_run()
    return line


def _sqlite_csv(query: Select, who: str, cells: list[_Cell], tally) -> Iterator[bytes]:
    # The stored time as text: ordered as the times are (one format, see _time_cell).
    moment = type_coerce(query.selected_columns[TIME_COLUMN[who]], String)
    sql = _sql(query.with_only_columns(_sqlite_line(cells), moment))
    # The DB-API cursor: SQLAlchemy's rows cost a third of the time here.
    cursor = db.session.connection().connection.driver_connection.cursor()
    try:
        cursor.execute(sql)
        separators = len(cells) - 1
        while rows := cursor.fetchmany(_ROWS_PER_FETCH):
            before = tally.rows
            _count(tally, rows)
            text = _ROW_SEPARATOR.join([row[0] for row in rows]) + _ROW_SEPARATOR
            data = text.encode("utf-8")
            if data.count(b"\x1f") == separators * len(rows) and data.count(b"\x1e") == len(rows):
                yield _to_csv(data)
            else:  # a separator in the data itself: row by row
                yield b"".join(
                    _sqlite_row(query, who, row[0], before + number, separators)
                    for number, row in enumerate(rows)
                )
    finally:
        cursor.close()


def _count(tally, rows: list) -> None:
    times = [row[1] for row in rows if row[1] is not None]
    if times:
        _add(tally, len(rows), _stored_time(min(times)), _stored_time(max(times)))
    else:
        _add(tally, len(rows), None, None)


def _stored_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _add(tally, rows: int, first: datetime | None, last: datetime | None) -> None:
    """Count rows into the tally and widen its time window (naive times are UTC)."""
    tally.rows += rows
    if first is not None:
        first, last = first.replace(tzinfo=UTC), last.replace(tzinfo=UTC)
        tally.first = first if tally.first is None else min(tally.first, first)
        tally.last = last if tally.last is None else max(tally.last, last)


def _python_csv(query: Select, who: str, tally) -> bytes:
    """Rows the database's lines cannot carry, through the Python path (exports.csv_lines')."""
    rows = list(export_rows(query, who))
    position = COLUMNS[who].index(TIME_COLUMN[who])
    times = [row[position] for row in rows if row[position] is not None]
    _add(tally, len(rows), min(times, default=None), max(times, default=None))
    return _csv_rows([[csv_cell(value) for value in row] for row in rows])


def _split_cells(row: bytes) -> list[str]:
    return row.decode("utf-8").split(_CELL_SEPARATOR)


def _sqlite_row(query: Select, who: str, line: str, position: int, separators: int) -> bytes:
    if line.count(_CELL_SEPARATOR) == separators and _ROW_SEPARATOR not in line:
        return _csv_rows([line.split(_CELL_SEPARATOR)])
    # The Python path for this one row, on the same connection: in the export's snapshot
    # while its cursor is open (SQLite keeps one for a statement not yet finished).
    (values,) = export_rows(query.offset(position).limit(1), who)
    return _csv_rows([[csv_cell(value) for value in values]])


# --- PostgreSQL ---


def _postgresql_csv(query: Select, who: str, cells: list[_Cell], tally) -> Iterator[bytes]:
    """COPY of the rows, a range of keys per COPY row: the lines of the range in one text.

    A COPY row per export row costs the client more than all the rest (psycopg reads each
    message in Python); ranges of _KEYS_PER_CHUNK keys make a thousand times fewer.
    """
    session = db.session()
    # A snapshot for the whole transaction: the rows of a range rewritten by the Python
    # path (see below) are the very rows COPY read.
    if session.in_transaction():
        connection = session.connection()
    else:
        connection = session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    # Compiling these long expressions just in time took PostgreSQL 15 longer (12 s for a
    # million rows) than running them uncompiled takes (2 s).
    connection.exec_driver_sql("SET LOCAL jit = off")
    key = _primary_key(query)
    moment = query.selected_columns[TIME_COLUMN[who]]
    line = func.concat_ws(_CELL_SEPARATOR, *(cell.sql for cell in cells))
    span = query.with_only_columns(func.min(key).label("low"), func.max(key).label("high"))
    span = span.order_by(None).subquery("span")
    series = func.generate_series(span.c.low, span.c.high, _KEYS_PER_CHUNK).label("start")
    # Ordered here, the thousand starts: the final ORDER BY then sorts nothing. Without
    # it PostgreSQL sorted the ranges' texts, the whole export, on disk before a byte.
    starts = select(series).order_by(series).subquery("starts")
    start = starts.c.start
    chunk = (
        query.with_only_columns(
            func.count().label("rows"),
            func.min(moment).label("first"),
            func.max(moment).label("last"),
            # Bytes: UTF-8 whatever the connection's encoding, and no decoding here.
            func.convert_to(
                func.string_agg(line, aggregate_order_by(literal(_ROW_SEPARATOR), key)), "UTF8"
            ).label("text"),
        )
        .where(key >= start, key < start + _KEYS_PER_CHUNK)
        .order_by(None)
        .lateral("chunk")
    )
    ranges = (
        select(start, chunk.c.rows, chunk.c.first, chunk.c.last, chunk.c.text)
        .select_from(starts)
        .join(chunk, true())
        .where(chunk.c.rows > 0)
        .order_by(start)
    )
    separators = len(cells) - 1
    written = None  # the start of the last range written
    while True:
        remaining = ranges if written is None else ranges.where(start > written)
        try:
            for low, rows, first, last, text in _copy_rows(session, _sql(remaining)):
                data = text + _ROW_SEPARATOR.encode()
                if data.count(b"\x1f") != separators * rows or data.count(b"\x1e") != rows:
                    raise _SeparatorInData(low)
                _add(tally, rows, first, last)
                yield _to_csv(data)
                written = low
            return
        except _SeparatorInData as stop:
            # This range through the Python path, in the same snapshot; then COPY again
            # from the next range.
            in_range = query.where(key >= stop.low, key < stop.low + _KEYS_PER_CHUNK)
            yield _python_csv(in_range, who, tally)
            written = stop.low


def _copy_rows(session, sql: str) -> Iterator[tuple]:
    """The rows of a binary COPY of the query, in a savepoint.

    A COPY stopped early (by a range that cannot be split, or an interrupted download)
    aborts the transaction: rolling back to the savepoint leaves it usable.
    """
    with session.begin_nested():
        connection = session.connection()  # which emits the SAVEPOINT, lazy otherwise
        copy_out = f"COPY ({sql}) TO STDOUT (FORMAT binary)"
        with (
            connection.connection.driver_connection.cursor() as cursor,
            cursor.copy(copy_out) as copy,
        ):
            copy.set_types(["int4", "int8", "timestamp", "timestamp", "bytea"])
            yield from copy.rows()


class _SeparatorInData(Exception):
    """A range of rows whose data holds one of the separators: it cannot be split."""

    def __init__(self, low: int):
        super().__init__(low)
        self.low = low
