"""CSV exports streamed from a query: columns, cell formatting and formula neutralizing."""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import Select

from .countries import country_name
from .extensions import db

INDIVIDUAL_COLUMNS = (
    "full_name",
    "email",
    "city",
    "country",
    "country_name",
    "affiliation",
    "show_publicly",
    "wants_updates",
    "status",
    "signed_at",
    "confirmed_at",
)
ORGANIZATION_COLUMNS = (
    "organization",
    "org_type",
    "country",
    "country_name",
    "city",
    "website",
    "contact_name",
    "contact_email",
    "contact_role",
    "show_publicly",
    "status",
    "endorsed_at",
    "confirmed_at",
    "approved_at",
)
COLUMNS = {"individuals": INDIVIDUAL_COLUMNS, "organizations": ORGANIZATION_COLUMNS}

BYTE_ORDER_MARK = "\ufeff"
# A spreadsheet reads a cell starting with these as a formula (OWASP CSV Injection).
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
_ROWS_PER_CHUNK = 500
_ROWS_PER_FETCH = 2000


def csv_cell(value: object) -> str:
    """One cell as text: yes/no, ISO 8601 UTC, and a leading ' before anything formula-like."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if hasattr(value, "value"):  # an enum: its stored value
        value = value.value
    text = str(value)
    # Spaces first too: LibreOffice can be told to trim them on import.
    return "'" + text if text.lstrip(" ").startswith(_FORMULA_TRIGGERS) else text


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[bytes]:
    """UTF-8 CSV (RFC 4180, CRLF) with a byte-order mark so Excel reads accents, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BYTE_ORDER_MARK)
    writer.writerow(header)
    for number, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(value) for value in row])
        if number % _ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def export_rows(query: Select, who: str) -> Iterator[tuple]:
    """Rows in the export's column order, fetched in batches (never all in memory)."""
    result = db.session.execute(query.execution_options(yield_per=_ROWS_PER_FETCH))
    for row in result.mappings():
        yield tuple(
            country_name(row["country"]) if column == "country_name" else row[column]
            for column in COLUMNS[who]
        )


def export_csv(query: Select, who: str) -> Iterator[bytes]:
    """The whole CSV export of a query built by queries.export_individuals/organizations."""
    return csv_lines(COLUMNS[who], export_rows(query, who))


def export_filename(slug: str, who: str, now: datetime) -> str:
    """An attachment name made only of the slug's safe characters and a timestamp."""
    return f"{slug}-{who}-{now.astimezone(UTC):%Y%m%d-%H%M%S}.csv"
