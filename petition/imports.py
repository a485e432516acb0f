"""Importing signatures from a CSV file: paper signatures and other petition tools' exports.

Each row goes through the same cleaning and checks as the signing form. The rows are
stored in bulk, a batch at a time: memory holds one batch, and the email keys seen so far
to name duplicates within the file (about 125 MB per million addresses). Nothing is
stored from a file with a rejected row unless the caller asks to keep the valid rows.
These functions add and flush but never commit.
"""

import codecs
import csv
import hashlib
import io
import secrets
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from typing import BinaryIO, TextIO

from babel import Locale
from flask_babel import gettext as _
from sqlalchemy import Column, MetaData, Table, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from . import audit, times
from .countries import country_codes
from .errors import DomainError
from .extensions import db
from .models import (
    AuditEntry,
    Petition,
    Signature,
    SignatureSource,
    SignatureStatus,
    utcnow,
)
from .rules import SIGNATURE_TEXT, clean_text, email_key, email_problem, text_problem

# Our columns, in the template's order.
FIELDS = (
    "full_name",
    "email",
    "city",
    "country",
    "affiliation",
    "show_publicly",
    "wants_updates",
    "will_attend",
    "signed_on",
)
REQUIRED = frozenset({"full_name", "city", "country"})
BOOLEANS = {
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "oui": True,
    "non": False,
    "": False,
}
BATCH_SIZE = 5000  # rows per INSERT (and per temporary table on PostgreSQL)
# Enough detail to fix a file; the counts stay exact beyond it.
MAX_PROBLEMS_KEPT = 10_000
# Spreadsheet separators: `;` is what Excel writes in French (and other) locales.
SEPARATORS = (",", ";", "\t")
# Our exports put a ' before cells a spreadsheet would run as a formula: take it off again.
_FORMULA_TRIGGERS = ("=", "+", "-", "@")
_READ_CHUNK = 1 << 16

# Column names for a few kinds of files, offered as defaults on the import page.
PRESETS: dict[str, dict[str, str]] = {
    "template": {name: name for name in FIELDS},
    # A spreadsheet with the first and last names in two columns.
    "first_last": {
        **{name: name for name in FIELDS},
        "full_name": "first_name + last_name",
    },
    # A CSV of individuals exported by this service (moving signatures between calls).
    "export": {**{name: name for name in FIELDS}, "signed_on": "signed_at"},
}


class ImportFileError(DomainError):
    """The file as a whole cannot be imported: its message says why, for the organizer."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Problem:
    """Why one row was rejected: row number in the file (the header is row 1) and field."""

    row: int
    field: str
    column: str
    message: str


@dataclass
class ImportReport:
    """What an import read, stored and rejected."""

    source: SignatureSource
    dry_run: bool = False
    keep_valid: bool = False
    encoding: str = "UTF-8"
    separator: str = ","
    rows_read: int = 0
    valid: int = 0  # rows that passed every check (stored, or would be)
    stored: int = 0
    rejected_rows: int = 0
    duplicates: int = 0  # of the rejected rows, those whose email already signed
    problems: list[Problem] = field(default_factory=list)
    problems_left_off: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def would_store(self) -> int:
        """How many rows the same import stores (or stored) when not a dry run."""
        return self.valid if self.keep_valid or not self.rejected_rows else 0

    @property
    def failed(self) -> bool:
        """Whether rows were rejected and nothing is (or would be) stored."""
        return bool(self.rejected_rows) and not self.would_store

    @property
    def discarded(self) -> bool:
        """Whether valid rows were left unstored because other rows were rejected."""
        return not self.dry_run and bool(self.rejected_rows) and not self.keep_valid

    def add(self, problem: Problem) -> None:
        """Keep a problem's detail, up to MAX_PROBLEMS_KEPT."""
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(problem)
        else:
            self.problems_left_off += 1


@dataclass
class CsvFile:
    """An uploaded or local file, decoded: its text, the encoding found and its checksum."""

    text: TextIO
    encoding: str
    sha256: str


def open_csv(binary: BinaryIO) -> CsvFile:
    """Find how a seekable file is encoded and open it as text.

    UTF-8 (with or without byte-order mark) is what we ask for. A file that is not
    valid UTF-8 is read as Windows-1252: Excel on Windows writes "CSV (comma
    delimited)" in it for Western European languages, and it agrees with Latin-1 on
    every printable character. UTF-16 with a byte-order mark is Excel's "Unicode
    text". Anything else (a workbook, a binary file) is refused. One pass over the
    bytes, in chunks: the file is never all in memory.
    """
    digest = hashlib.sha256()
    head = binary.read(4)
    if not head:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            _(
                "This looks like a spreadsheet workbook (.xlsx or .ods), not a CSV file. "
                "Save it as “CSV UTF-8” and upload that."
            )
        )
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8, has_nul = True, False
    chunk = head
    while chunk:
        digest.update(chunk)
        has_nul = has_nul or b"\0" in chunk
        if is_utf8:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                is_utf8 = False
        chunk = binary.read(_READ_CHUNK)
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    if utf16:
        encoding, label = "utf-16", "UTF-16"
    elif has_nul:
        raise ImportFileError(
            _("This is not a text file. Save the spreadsheet as “CSV UTF-8” and upload that.")
        )
    elif is_utf8:
        encoding, label = "utf-8-sig", "UTF-8"
    else:
        encoding, label = "cp1252", "Windows-1252"
    binary.seek(0)
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")
    return CsvFile(text=text, encoding=label, sha256=digest.hexdigest())


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """`field=Column` pairs (the command line's --map) as a mapping; ValueError if malformed."""
    mapping = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name = name.strip()
        if not sep or name not in FIELDS:
            raise ValueError(f"{pair!r}: write FIELD=COLUMN, FIELD one of {', '.join(FIELDS)}")
        mapping[name] = column.strip()
    return mapping


def _header_key(name: str) -> str:
    return clean_text(name).casefold()


def _resolve_columns(
    header: list[str], mapping: Mapping[str, str], source: SignatureSource
) -> tuple[dict[str, list[int]], list[str]]:
    """For each of our fields, the positions of its column(s); and the unused columns.

    A field mapped to "A + B" joins two columns (first and last names). An optional
    field left at its own name is simply absent when the file has no such column.
    """
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _header_key(name)
        if not key:
            continue
        if key in positions:
            raise ImportFileError(
                _("The column %(column)s appears twice in the header.", column=clean_text(name))
            )
        positions[key] = index
    if not positions:
        raise ImportFileError(_("The first line of the file must name its columns."))
    required = REQUIRED | ({"email"} if source is SignatureSource.IMPORT else set())
    columns: dict[str, list[int]] = {}
    missing = []
    for name in FIELDS:
        wanted = clean_text(mapping.get(name, name))
        if not wanted:
            if name in required:
                raise ImportFileError(
                    _("Say which column of your file holds %(field)s.", field=name)
                )
            continue
        if _header_key(wanted) in positions:
            columns[name] = [positions[_header_key(wanted)]]
            continue
        parts = [clean_text(part) for part in wanted.split("+")]
        if len(parts) > 1 and all(_header_key(part) in positions for part in parts if part):
            columns[name] = [positions[_header_key(part)] for part in parts if part]
            continue
        if name not in required and _header_key(wanted) == name:
            continue  # an optional column of ours the file does not have
        missing.append(wanted)
    if missing:
        raise ImportFileError(
            _(
                "Column(s) not found in the file: %(missing)s. The file's columns are: "
                "%(columns)s.",
                missing=", ".join(missing),
                columns=", ".join(clean_text(name) for name in header if clean_text(name)),
            )
        )
    used = {index for indexes in columns.values() for index in indexes}
    unused = [clean_text(name) for index, name in enumerate(header) if index not in used]
    unused = [name for name in unused if name]
    if unused and source is SignatureSource.PAPER:
        # Probably a misspelt header: its data would be lost without a word.
        raise ImportFileError(
            _(
                "Unknown column(s): %(unknown)s. Rename them to one of ours (%(ours)s), "
                "map them below, or remove them.",
                unknown=", ".join(unused),
                ours=", ".join(FIELDS),
            )
        )
    return columns, unused


def _sniff_separator(line: str) -> str:
    counts = {separator: line.count(separator) for separator in SEPARATORS}
    best = max(SEPARATORS, key=lambda separator: counts[separator])
    return best if counts[best] else ","


def _country_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@cache
def _countries_by_name() -> dict[str, str]:
    """Country names in English and French (as other tools export them) to their codes."""
    names = {}
    for locale in ("en", "fr"):
        territories = Locale(locale).territories
        for code in country_codes():
            if code in territories:
                names[_country_key(territories[code])] = code
    return names


def _country(value: str) -> str | None:
    if len(value) == 2 and value.upper() in country_codes():
        return value.upper()
    return _countries_by_name().get(_country_key(value))


def _unescape_formula(value: str) -> str:
    if value.startswith("'") and value[1:].lstrip(" ").startswith(_FORMULA_TRIGGERS):
        return value[1:]
    return value


def _signed_at(value: str, now: datetime) -> datetime:
    """A YYYY-MM-DD date (or an ISO 8601 date and time), not in the future; ValueError."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(_("Write the date as YYYY-MM-DD.")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now:
        raise ValueError(_("This date is in the future."))
    return moment


class _RowChecker:
    """Cleans one row's cells into a signature's values, or says what is wrong."""

    def __init__(self, columns: dict[str, list[int]], header: list[str], source, now):
        self.columns = columns
        self.names = {
            name: " + ".join(clean_text(header[i]) for i in indexes)
            for name, indexes in columns.items()
        }
        self.source = source
        self.now = now
        self.width = len(header)

    def cell(self, cells: list[str], name: str) -> str:
        indexes = self.columns.get(name)
        if not indexes:
            return ""
        if len(indexes) == 1:  # most fields: one column
            index = indexes[0]
            return clean_text(_unescape_formula(cells[index])) if index < len(cells) else ""
        parts = [_unescape_formula(cells[i]) if i < len(cells) else "" for i in indexes]
        return clean_text(" ".join(parts))

    def check(self, number: int, cells: list[str]) -> tuple[dict | None, list[Problem]]:
        problems: list[Problem] = []

        def reject(name: str, message: str) -> None:
            problems.append(Problem(number, name, self.names.get(name, ""), message))

        if len(cells) > self.width and any(c.strip() for c in cells[self.width :]):
            problems.append(
                Problem(
                    number,
                    "",
                    "",
                    _(
                        "This row has %(cells)d cells but the header has %(columns)d: "
                        "a cell holding the separator needs quotes.",
                        cells=len(cells),
                        columns=self.width,
                    ),
                )
            )
            return None, problems
        values: dict = {}
        for rule in SIGNATURE_TEXT:
            value = self.cell(cells, rule.name)
            if problem := text_problem(value, rule.limit, rule.required):
                reject(rule.name, problem)
            values[rule.name] = value or None

        email = self.cell(cells, "email")
        values["email"] = values["email_normalized"] = None
        if not email:
            if self.source is SignatureSource.IMPORT:
                reject("email", _("An email address is required for signatures from another tool."))
        elif problem := email_problem(email):  # no DNS look-up
            reject("email", problem)
        else:
            values["email_normalized"] = email_key(email)
            values["email"] = email

        country = self.cell(cells, "country")
        if not country:
            reject("country", _("This field is required."))
        elif (code := _country(country)) is None:
            reject(
                "country",
                _(
                    "Unknown country %(value)s: write a two-letter code such as FR, or the "
                    "country's name in English or French.",
                    value=country[:60],
                ),
            )
        else:
            values["country"] = code

        for name in ("show_publicly", "wants_updates", "will_attend"):
            answer = BOOLEANS.get(self.cell(cells, name).casefold())
            if answer is None:
                reject(name, _("Write yes or no (or true/false, 1/0, oui/non)."))
            values[name] = bool(answer)

        signed_on = self.cell(cells, "signed_on")
        values["signed_at"] = self.now
        if signed_on:
            try:
                values["signed_at"] = _signed_at(signed_on, self.now)
            except ValueError as error:
                reject("signed_on", str(error))
        return (None if problems else values), problems


# The columns of a stored row that change from row to row, in the order of _Store.row:
# every value _RowChecker.check returns, then the consent's time and the token.
_ROW_COLUMNS = (
    "full_name",
    "email",
    "email_normalized",
    "city",
    "country",
    "affiliation",
    "show_publicly",
    "wants_updates",
    "will_attend",
    "signed_at",
    "consent_at",
    "token_key",
)
_BATCH_TABLE = "import_batch"  # PostgreSQL's temporary table of a batch


def _insert_statement():
    """The INSERT of a batch, which skips a row whose (call, email) exists.

    No RETURNING: _Store finds the skipped rows afterwards, when there were any. SQLite
    inserts the batch's rows; PostgreSQL copies them into a temporary table and inserts
    them from it in one statement (the tally's statement triggers run once).
    """
    table = Signature.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        batch = _batch_table()
        insert = postgresql.insert(table).from_select(
            [*_ROW_COLUMNS, *_Store.constant_columns],
            select(
                *(batch.c[name] for name in _ROW_COLUMNS),
                *(bindparam(name, type_=table.c[name].type) for name in _Store.constant_columns),
            ),
        )
    else:
        insert = sqlite.insert(table)
    return insert.on_conflict_do_nothing(index_elements=["petition_id", "email_normalized"])


def _batch_table() -> Table:
    table = Signature.__table__
    return Table(_BATCH_TABLE, MetaData(), *(Column(n, table.c[n].type) for n in _ROW_COLUMNS))


class _Store:
    """Stores an import's rows in batches, with SQLAlchemy's conversions but not its overhead.

    SQLAlchemy's executemany converts every value of every row (times to naive UTC,
    enums to their values): half an import's time. Here a column's conversion runs only
    when its value differs from the previous row's, and the rows go to the DB-API as they
    are (executemany on SQLite, COPY on PostgreSQL).
    """

    constant_columns = (
        "petition_id",
        "status",
        "source",
        "hidden",
        "confirmed_at",
        "privacy_notice_version",
        "ip_hash",
        "locale",
        "mails_sent",
    )

    def __init__(self, petition: Petition, source: SignatureSource, now: datetime):
        self.petition = petition
        self.dialect = db.session.get_bind().dialect
        self.constants = {
            "petition_id": petition.id,
            "status": SignatureStatus.CONFIRMED,
            "source": source,
            "hidden": False,
            "confirmed_at": now,
            "privacy_notice_version": source.value,  # "paper" or "import"
            "ip_hash": None,
            "locale": None,
            "mails_sent": 0,
        }
        self.conversions = []  # (position in a row, conversion, [last value, its conversion])
        for position, name in enumerate(_ROW_COLUMNS):
            if (convert := self._conversion(name)) is not None:
                self.conversions.append((position, convert, [object(), None]))

    def row(self, values: dict) -> list:
        """A batch row from a row's checked values: its consent time and a fresh token added."""
        row = [values[name] for name in _ROW_COLUMNS[:-2]]
        row += (values["signed_at"], secrets.token_hex(16))  # consent given when signed
        for position, convert, last in self.conversions:
            value = row[position]
            if value is not last[0]:  # most rows share a time (now) and the booleans
                last[0], last[1] = value, convert(value)
            row[position] = last[1]
        return row

    def insert(self, rows: list[list]) -> int:
        """Insert the rows whose (call, email) is free; how many were."""
        statement = _insert_statement()
        connection = db.session.connection()
        driver = connection.connection.driver_connection
        if self.dialect.name == "postgresql":
            columns = ", ".join(_ROW_COLUMNS)
            # Made again after a commit (ON COMMIT DROP), emptied of the last batch. Names
            # from this module's constants only.
            connection.exec_driver_sql(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {_BATCH_TABLE} ON COMMIT DROP"  # noqa: S608
                f" AS SELECT {columns} FROM signature WITH NO DATA; TRUNCATE {_BATCH_TABLE}"
            )
            with driver.cursor() as cursor:
                with cursor.copy(f"COPY {_BATCH_TABLE} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            inserted = connection.execute(
                statement.execution_options(preserve_rowcount=True), self.constants
            )
            return inserted.rowcount
        names = (*_ROW_COLUMNS, *self.constant_columns)
        compiled = statement.values({name: bindparam(name) for name in names}).compile(
            dialect=self.dialect
        )
        constants = [
            value if (convert := self._conversion(name)) is None else convert(value)
            for name, value in self.constants.items()
        ]
        # The DB-API's parameters in the statement's order.
        order = itemgetter(*(names.index(name) for name in compiled.positiontup))
        cursor = driver.cursor()
        try:
            cursor.executemany(compiled.string, [order(row + constants) for row in rows])
            return cursor.rowcount
        finally:
            cursor.close()

    def _conversion(self, name: str):
        """SQLAlchemy's conversion of a value of this column for this database, or None."""
        type_ = Signature.__table__.c[name].type.dialect_impl(self.dialect)
        return type_.bind_processor(self.dialect)

    def taken(self, rows: list[list]) -> set[str]:
        """The email keys of these rows held by other rows than this import's: already signed.

        Told apart by their token, drawn at random for each row of this import.
        """
        ours = {row[2]: row[-1] for row in rows if row[2] is not None}
        if not ours:
            return set()
        held = db.session.execute(
            select(Signature.email_normalized, Signature.token_key).where(
                Signature.petition_id == self.petition.id,
                Signature.email_normalized.in_(ours),
            )
        )
        return {key for key, token in held if ours[key] != token}


def previous_import(petition: Petition, sha256: str) -> AuditEntry | None:
    """The import of this call that stored a file with this checksum, if any."""
    entries = db.session.execute(
        audit.entries(petition).where(AuditEntry.action == "import")
    ).scalars()
    return next((entry for entry in entries if entry.details.get("sha256") == sha256), None)


def import_signatures(
    petition: Petition,
    lines: Iterable[str],
    *,
    mapping: Mapping[str, str] | None = None,
    source: SignatureSource = SignatureSource.PAPER,
    keep_valid: bool = False,
    dry_run: bool = False,
    max_rows: int | None = None,
    filename: str | None = None,
    encoding: str = "UTF-8",
    sha256: str | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Check every row of a CSV text and store the valid ones as confirmed signatures.

    Paper signatures (source PAPER) may have no email; signatures moved from another
    tool (source IMPORT) must have one, and are stored as confirmed because that tool
    confirmed them. No mail is sent. Rows whose email already signed the call, or
    appears earlier in the file, are rejected as duplicates. Without keep_valid, one
    rejected row means nothing is stored; a dry run only checks. Raises
    ImportFileError for a file that cannot be read as a whole (and stores nothing).
    """
    if source is SignatureSource.WEB:
        raise ValueError("web signatures are not imported")
    if petition.purged_at is not None:
        raise ImportFileError(
            _("The personal data of this call was deleted after its campaign: no imports.")
        )
    if sha256 and not dry_run and (earlier := previous_import(petition, sha256)):
        raise ImportFileError(
            _(
                "This same file was already imported on %(date)s (%(stored)s signatures "
                "stored). Nothing was stored again.",
                date=times.moment(earlier.at, petition),
                stored=earlier.details.get("stored", "?"),
            )
        )
    now = now or utcnow()
    report = ImportReport(source=source, dry_run=dry_run, keep_valid=keep_valid, encoding=encoding)
    importer = _Importer(petition, report, source, now, storing=not dry_run)
    try:
        importer.run(iter(lines), mapping or {}, max_rows)
    except ImportFileError:
        importer.discard()
        raise
    report.problems.sort(key=lambda problem: problem.row)
    if report.stored:
        audit.record(
            "import",
            petition=petition,
            source=source.value,
            rows=report.rows_read,
            stored=report.stored,
            rejected=report.rejected_rows,
            filename=(filename or "")[:200] or None,
            sha256=sha256,
        )
    return report


class _Importer:
    """One import's state: the batch waiting to be stored and the addresses seen so far."""

    def __init__(self, petition, report, source, now, storing):
        self.petition = petition
        self.report = report
        self.source = source
        self.now = now
        self.storing = storing
        self.store = _Store(petition, source, now) if storing else None
        self.batch: list[tuple[int, dict]] = []
        self.seen: dict[str, int] = {}  # email key -> row number of its first row
        self.email_column = ""
        self.sent = 0  # rows handed to INSERT

    def run(self, lines: Iterator[str], mapping: Mapping[str, str], max_rows: int | None):
        report = self.report
        try:
            first = next(lines, "")
            report.separator = _sniff_separator(first)
            reader = csv.reader(_chain(first, lines), delimiter=report.separator)
            header = next(reader, None)
            if not header or not any(cell.strip() for cell in header):
                raise ImportFileError(_("The first line of the file must name its columns."))
            columns, report.ignored_columns = _resolve_columns(header, mapping, self.source)
            checker = _RowChecker(columns, header, self.source, self.now)
            self.email_column = checker.names.get("email", "")
            for number, cells in enumerate(reader, start=2):
                if not "".join(cells).strip():
                    continue  # blank lines between blocks of a paper collection
                report.rows_read += 1
                if max_rows is not None and report.rows_read > max_rows:
                    raise ImportFileError(
                        _(
                            "The file has more than %(rows)d rows: split it, or ask an "
                            "administrator to import it from the command line.",
                            rows=max_rows,
                        )
                    )
                values, problems = checker.check(number, cells)
                if values is not None and values["email_normalized"]:
                    first_row = self.seen.setdefault(values["email_normalized"], number)
                    if first_row != number:
                        problems = [
                            Problem(
                                number,
                                "email",
                                checker.names.get("email", ""),
                                _("The same email address as row %(row)d.", row=first_row),
                            )
                        ]
                        values = None
                        report.duplicates += 1
                if values is None:
                    self.reject_row(problems)
                    continue
                self.batch.append((number, values))
                if len(self.batch) >= BATCH_SIZE:
                    self.flush()
            self.flush()
            if not report.rows_read:
                raise ImportFileError(_("The file has no rows below its header."))
        except UnicodeDecodeError:
            raise ImportFileError(
                _("The file is not valid %(encoding)s text.", encoding=report.encoding)
            ) from None
        except csv.Error as error:
            raise ImportFileError(
                _("The file is not valid CSV: %(reason)s", reason=str(error))
            ) from None

    def reject_row(self, problems: list[Problem]) -> None:
        self.report.rejected_rows += 1
        for problem in problems:
            self.report.add(problem)
        if not self.report.keep_valid:
            self.discard()

    def flush(self) -> None:
        """Store the batch, or only check it: reject rows whose email already signed.

        Storing, the unique index finds them (INSERT ... ON CONFLICT DO NOTHING, which
        also covers someone signing online meanwhile), and they are looked up only when
        the INSERT skipped some: a SELECT per batch before it would be planned on
        statistics that do not know this import's own rows yet, and scan the whole call
        each time. Only checking, nothing is inserted: a SELECT is fine.
        """
        if not self.batch:
            return
        keys = {values["email_normalized"] for _, values in self.batch}
        keys.discard(None)
        if self.storing:
            rows = [self.store.row(values) for _, values in self.batch]
            stored = self.store.insert(rows)
            self.sent += len(rows)
            self.report.stored += stored
            existing = self.store.taken(rows) if stored < len(rows) else set()
        elif keys:
            existing = set(
                db.session.scalars(
                    select(Signature.email_normalized).where(
                        Signature.petition_id == self.petition.id,
                        Signature.email_normalized.in_(keys),
                    )
                )
            )
        else:
            existing = set()
        batch, self.batch = self.batch, []
        for number, values in batch:
            if values["email_normalized"] in existing:
                self.report.duplicates += 1
                message = _("This email address has already signed this call.")
                self.reject_row([Problem(number, "email", self.email_column, message)])
            else:
                self.report.valid += 1

    def discard(self) -> None:
        """Stop storing, and delete what this import stored so far (same transaction)."""
        if self.storing and self.sent:
            # This import's rows, and only them: its call, its source and its exact time.
            db.session.execute(
                delete(Signature).where(
                    Signature.petition_id == self.petition.id,
                    Signature.source == self.source,
                    Signature.confirmed_at == self.now,
                ),
                execution_options={"synchronize_session": False},
            )
        self.report.stored = 0
        self.storing = False


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def template_csv() -> bytes:
    """The template to fill in: UTF-8 with a byte-order mark (so Excel reads accents), a header."""
    return ("\ufeff" + ",".join(FIELDS) + "\r\n").encode("utf-8")


def report_lines(report: ImportReport, limit: int = 50) -> Iterator[str]:
    """The report as lines of text (the command line): totals, then the first rejected rows."""
    yield (
        f"{report.rows_read} rows read ({report.encoding}, separator {report.separator!r}): "
        f"{report.valid} valid, {report.rejected_rows} rejected "
        f"({report.duplicates} duplicates), {report.stored} stored."
    )
    if report.dry_run:
        yield "Dry run: nothing was stored."
    elif report.discarded:
        yield "Nothing was stored because rows were rejected (--keep-valid stores the others)."
    if report.ignored_columns:
        yield "Columns ignored: " + ", ".join(report.ignored_columns)
    for problem in report.problems[:limit]:
        column = (
            f" ({problem.column})" if problem.column and problem.column != problem.field else ""
        )
        yield f"row {problem.row}: {problem.field or 'row'}{column}: {problem.message}"
    more = len(report.problems) + report.problems_left_off - limit
    if more > 0:
        yield f"... and {more} more problems."
