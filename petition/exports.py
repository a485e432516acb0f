"""Exports streamed from a query (CSV, JSON Lines), their filters and their manifests."""

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from . import audit, queries
from .countries import country_codes, country_name
from .extensions import db
from .models import (
    EndorsementStatus,
    ExportManifest,
    OrganizationType,
    Organizer,
    Petition,
    SignatureSource,
    SignatureStatus,
    utcnow,
)

INDIVIDUAL_COLUMNS = (
    "full_name",
    "email",
    "city",
    "country",
    "country_name",
    "affiliation",
    "show_publicly",
    "wants_updates",
    "will_attend",
    "status",
    "source",
    "language",  # the interface's language when they signed (the call's, if it had it)
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
    "language",
    "endorsed_at",
    "confirmed_at",
    "approved_at",
)
COLUMNS = {"individuals": INDIVIDUAL_COLUMNS, "organizations": ORGANIZATION_COLUMNS}
# The column the manifest's time window is read from.
TIME_COLUMN = {"individuals": "signed_at", "organizations": "endorsed_at"}

FORMATS = ("csv", "jsonl")
MIMETYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}

# The status filter's choices per audience; None selects every status, invalid ones too.
STATUSES: dict[str, dict[str, tuple | None]] = {
    "individuals": {
        "confirmed": (SignatureStatus.CONFIRMED,),
        "pending": (SignatureStatus.PENDING,),
        "invalid": (SignatureStatus.INVALID,),
        "all": None,
    },
    "organizations": {
        "approved": (EndorsementStatus.APPROVED,),
        "awaiting_approval": (EndorsementStatus.AWAITING_APPROVAL,),
        "pending": (EndorsementStatus.PENDING,),
        "rejected": (EndorsementStatus.REJECTED,),
        "all": None,
    },
}
# What counts in public, exported unless another status is asked for.
DEFAULT_STATUS = {"individuals": "confirmed", "organizations": "approved"}

BYTE_ORDER_MARK = "\ufeff"
# A spreadsheet reads a cell starting with these as a formula (OWASP CSV Injection).
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
_ROWS_PER_CHUNK = 500
_ROWS_PER_FETCH = 2000


@dataclass(frozen=True)
class ExportFilters:
    """Which signatures or endorsements an export holds; dates are whole UTC days, inclusive."""

    who: str = "individuals"
    status: str | None = None  # None: the default status of `who`
    since: date | None = None
    until: date | None = None
    country: str | None = None
    wants_updates: bool = False  # individuals only
    will_attend: bool = False  # individuals only: those who said they will attend the rally
    source: str | None = None  # individuals only
    org_type: str | None = None  # organizations only

    @property
    def resolved_status(self) -> str:
        """The status asked for, or the default one."""
        return self.status or DEFAULT_STATUS.get(self.who, "")

    def problems(self) -> dict[str, str]:
        """What is wrong with these filters, by filter name (empty when they can be used)."""
        problems: dict[str, str] = {}
        if self.who not in COLUMNS:
            return {"who": _l("Choose individuals or organizations.")}
        individuals = self.who == "individuals"
        if self.resolved_status not in STATUSES[self.who]:
            problems["status"] = (
                _l("This status is not one of individuals.")
                if individuals
                else _l("This status is not one of organizations.")
            )
        if self.since and self.until and self.since > self.until:
            problems["until"] = _l("The end date must be on or after the start date.")
        if self.country is not None and self.country not in country_codes():
            problems["country"] = _l("Unknown country.")
        if self.source is not None and self.source not in {s.value for s in SignatureSource}:
            problems["source"] = _l("Unknown source.")
        elif self.source is not None and not individuals:
            problems["source"] = _l("Only individuals have a source.")
        if self.wants_updates and not individuals:
            problems["wants_updates"] = _l("Only individuals ask for news.")
        if self.will_attend and not individuals:
            problems["will_attend"] = _l("Only individuals say whether they will attend.")
        if self.org_type is not None and self.org_type not in {t.value for t in OrganizationType}:
            problems["org_type"] = _l("Unknown type of organization.")
        elif self.org_type is not None and individuals:
            problems["org_type"] = _l("Only organizations have a type.")
        return problems

    def as_dict(self) -> dict:
        """The filters as the manifest and the audit log keep them (JSON, only those set)."""
        filters: dict[str, object] = {"status": self.resolved_status}
        if self.since:
            filters["since"] = self.since.isoformat()
        if self.until:
            filters["until"] = self.until.isoformat()
        if self.country:
            filters["country"] = self.country
        if self.wants_updates:
            filters["wants_updates"] = True
        if self.will_attend:
            filters["will_attend"] = True
        if self.source:
            filters["source"] = self.source
        if self.org_type:
            filters["org_type"] = self.org_type
        return filters

    def query(self, petition: Petition) -> Select:
        """The rows these filters select, as a query of queries.export_* (call problems() first)."""
        start = _start_of(self.since) if self.since else None
        # Inclusive: everything before the next day's midnight.
        end = _start_of(self.until + timedelta(days=1)) if self.until else None
        statuses = STATUSES[self.who][self.resolved_status]
        if self.who == "individuals":
            return queries.export_individuals(
                petition,
                statuses,
                signed_from=start,
                signed_before=end,
                country=self.country,
                wants_updates=self.wants_updates,
                will_attend=self.will_attend,
                source=SignatureSource(self.source) if self.source else None,
            )
        return queries.export_organizations(
            petition,
            statuses,
            endorsed_from=start,
            endorsed_before=end,
            country=self.country,
            org_type=OrganizationType(self.org_type) if self.org_type else None,
        )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _utc_text(moment: datetime) -> str:
    # By hand: strftime was a sixth of an export's time.
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def csv_cell(value: object) -> str:
    """One cell as text: yes/no, ISO 8601 UTC, and a leading ' before anything formula-like."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return _utc_text(value)
    if hasattr(value, "value"):  # an enum: its stored value
        value = value.value
    text = str(value)
    # Spaces first too: LibreOffice can be told to trim them on import.
    return "'" + text if text.lstrip(" ").startswith(_FORMULA_TRIGGERS) else text


def json_value(value: object) -> object:
    """One value for JSON: ISO 8601 UTC times, enums as their stored values."""
    if isinstance(value, datetime):
        return _utc_text(value)
    if hasattr(value, "value"):
        return value.value
    return value


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


def jsonl_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[bytes]:
    """JSON Lines: one UTF-8 object per row with the columns as keys, no BOM, in chunks."""
    header = tuple(header)
    lines: list[str] = []
    for row in rows:
        record = {key: json_value(value) for key, value in zip(header, row, strict=True)}
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        if len(lines) == _ROWS_PER_CHUNK:
            yield "".join(lines).encode("utf-8")
            lines.clear()
    if lines:
        yield "".join(lines).encode("utf-8")


LINES = {"csv": csv_lines, "jsonl": jsonl_lines}


def export_rows(query: Select, who: str) -> Iterator[tuple]:
    """Rows in the export's column order, fetched in batches (never all in memory)."""
    # A Core result (no ORM row handling), read by position.
    result = db.session.connection().execute(query.execution_options(yield_per=_ROWS_PER_FETCH))
    position = {name: index for index, name in enumerate(result.keys())}
    country = position["country"]
    picks = [None if column == "country_name" else position[column] for column in COLUMNS[who]]
    # Names looked up once per country, not once per row (a sixth of the time otherwise).
    names: dict[str, str] = {}
    for row in result:
        code = row[country]
        if code not in names:
            names[code] = country_name(code)
        yield tuple(names[code] if pick is None else row[pick] for pick in picks)


def export_csv(query: Select, who: str) -> Iterator[bytes]:
    """The whole CSV export of a query built by queries.export_individuals/organizations."""
    return _export_bytes(query, who, "csv", _Tally(who))


def export_filename(slug: str, who: str, now: datetime, fmt: str = "csv") -> str:
    """An attachment name made only of the slug's safe characters and a timestamp."""
    return f"{slug}-{who}-{now.astimezone(UTC):%Y%m%d-%H%M%S}.{fmt}"


def start_export(
    petition: Petition, filters: ExportFilters, fmt: str, organizer: Organizer | None = None
) -> ExportManifest:
    """Record an export before its first byte: its manifest and the audit entry (flushed)."""
    now = utcnow()
    manifest = ExportManifest(
        petition_id=petition.id,
        actor=audit.COMMAND_LINE,
        who=filters.who,
        format=fmt,
        filename=export_filename(petition.slug, filters.who, now, fmt),
        filters=filters.as_dict(),
        started_at=now,
    )
    db.session.add(manifest)
    db.session.flush()
    entry = audit.record(
        "export",
        petition=petition,
        subject=f"export {manifest.id}",
        organizer=organizer,
        who=filters.who,
        format=fmt,
        filters=filters.as_dict(),
    )
    # Whoever the log names (the logged-in organizer, or the command line) made the export.
    manifest.organizer_id = entry.organizer_id
    manifest.actor = entry.actor
    db.session.flush()
    return manifest


class _Tally:
    """Counts the rows going through and keeps the first and last of their times."""

    def __init__(self, who: str):
        self.position = COLUMNS[who].index(TIME_COLUMN[who])
        self.rows = 0
        self.first: datetime | None = None
        self.last: datetime | None = None

    def count(self, rows: Iterable[tuple]) -> Iterator[tuple]:
        for row in rows:
            self.rows += 1
            moment = row[self.position]
            if moment is not None:
                if self.first is None or moment < self.first:
                    self.first = moment
                if self.last is None or moment > self.last:
                    self.last = moment
            yield row


def _export_bytes(query: Select, who: str, fmt: str, tally: _Tally) -> Iterator[bytes]:
    """A CSV formatted by the database when it can (the same bytes, far faster), else here."""
    from . import export_sql  # which builds on this module

    if fmt == "csv" and export_sql.supports(query, who):
        return export_sql.export_csv(query, who, tally)
    return LINES[fmt](COLUMNS[who], tally.count(export_rows(query, who)))


def stream_export(manifest_id: int, who: str, fmt: str, query: Select) -> Iterator[bytes]:
    """The export's bytes; after the last one the manifest is completed and flushed.

    The caller commits once the stream is exhausted. A stream closed early (an
    interrupted download) never gets there: its manifest keeps finished_at None.
    """
    tally = _Tally(who)
    digest = hashlib.sha256()
    for chunk in _export_bytes(query, who, fmt, tally):
        digest.update(chunk)
        yield chunk
    manifest = db.session.get(ExportManifest, manifest_id)
    manifest.finished_at = utcnow()
    manifest.row_count = tally.rows
    manifest.sha256 = digest.hexdigest()
    # A new dict: the JSON column notices reassignment, not changes in place.
    manifest.filters = {
        **manifest.filters,
        "window": {
            "first": _utc_text(tally.first) if tally.first else None,
            "last": _utc_text(tally.last) if tally.last else None,
        },
    }
    db.session.flush()


def manifest_document(manifest: ExportManifest) -> dict:
    """The manifest as JSON: enough to check a file later (rows, SHA-256, filters, window)."""
    filters = dict(manifest.filters or {})
    window = filters.pop("window", None)
    return {
        "manifest": manifest.id,
        "call": manifest.petition.slug if manifest.petition else None,
        "who": manifest.who,
        "format": manifest.format,
        "filename": manifest.filename,
        "filters": filters,
        "window": window,
        "row_count": manifest.row_count,
        "sha256": manifest.sha256,
        "exported_by": manifest.actor,
        "started_at": _utc_text(manifest.started_at),
        "finished_at": _utc_text(manifest.finished_at) if manifest.finished_at else None,
        "complete": manifest.finished_at is not None,
    }
