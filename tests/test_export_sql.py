"""The CSV written by the database (export_sql) is byte for byte the Python path's (exports).

Rows are stored as they could never come through the forms: every text hostile (quotes,
commas, line breaks, CR, tabs, leading = + - @ behind spaces, the export's own separators,
non-Latin letters, NUL on SQLite), NULLs where a column allows one, every status, source,
type and boolean, unknown country codes. The same query is written both ways and compared,
with its row count and time window (the manifest's).
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from petition import export_sql
from petition.exports import (
    COLUMNS,
    ExportFilters,
    _Tally,
    csv_lines,
    export_rows,
    stream_export,
)
from petition.extensions import db
from petition.models import (
    Endorsement,
    EndorsementStatus,
    ExportManifest,
    OrganizationType,
    Signature,
    SignatureSource,
    SignatureStatus,
)

HOSTILE = [",", '"', "\r", "\n", "\r\n", "\t", " ", "  ", "=", "+", "-", "@", "'", "\\", "\\N"]
HOSTILE += ["\x1f", "\x1e", "\x0b", "\x0c", "\x08", "é", "Ł", "ß", "😀", "ا", "\u200d", "%s"]
HOSTILE += ["=1+1", '=HYPERLINK("x")', "a,b", 'say "hi"', "line\nbreak", "\\t", "\\\\"]


def texts(nul: bool, min_size: int = 0):
    """Short texts made mostly of what breaks CSV, spreadsheets and our separators."""
    pieces = HOSTILE + (["\0"] if nul else []) + ["a", "Z", "1", "Calais"]
    return st.lists(st.sampled_from(pieces), min_size=min_size, max_size=6).map("".join)


def nul_allowed() -> bool:
    return db.engine.dialect.name == "sqlite"  # PostgreSQL refuses NUL in a text


MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
# Known codes, unknown ones, and two-character texts that look like formulas.
COUNTRIES = st.sampled_from(["FR", "DE", "CI", "AX", "ZZ", "QO", "EU", "=1", " +", "é,", '"x'])


def signature_rows(nul: bool):
    row = st.fixed_dictionaries(
        {
            "full_name": texts(nul),
            "email": st.none() | texts(nul, min_size=1),
            "city": texts(nul),
            "country": COUNTRIES,
            "affiliation": st.none() | texts(nul),
            "show_publicly": st.booleans(),
            "wants_updates": st.booleans(),
            "will_attend": st.booleans(),
            "status": st.sampled_from(SignatureStatus),
            "source": st.sampled_from([SignatureSource.PAPER, SignatureSource.IMPORT]),
            "locale": st.none() | texts(nul),
            "signed_at": MOMENTS,
            "confirmed_at": MOMENTS,
        }
    )
    return st.lists(row, max_size=12)


def endorsement_rows(nul: bool):
    row = st.fixed_dictionaries(
        {
            "organization": texts(nul),
            "org_type": st.sampled_from(OrganizationType),
            "country": COUNTRIES,
            "city": texts(nul),
            "website": st.none() | texts(nul),
            "contact_name": texts(nul),
            "contact_email": texts(nul),
            "contact_role": texts(nul),
            "show_publicly": st.booleans(),
            "status": st.sampled_from(EndorsementStatus),
            "locale": st.none() | texts(nul),
            "endorsed_at": MOMENTS,
            "confirmed_at": st.none() | MOMENTS,
            "reviewed_at": st.none() | MOMENTS,
        }
    )
    return st.lists(row, max_size=8)


def fitted(table, row: dict) -> dict:
    """The texts cut to their column's length (PostgreSQL checks it, SQLite does not)."""
    return {
        name: value[: table.c[name].type.length] if isinstance(value, str) else value
        for name, value in row.items()
    }


def store_signatures(petition, rows) -> None:
    stored = []
    for number, row in enumerate(rows):
        status = row["status"]
        stored.append(
            {
                **row,
                "petition_id": petition.id,
                "email_normalized": None if row["email"] is None else f"{number}@x",
                # The check constraints: a time per state.
                "confirmed_at": None if status is SignatureStatus.PENDING else row["confirmed_at"],
                "invalidated_at": row["signed_at"] if status is SignatureStatus.INVALID else None,
                "hidden": False,
                "consent_at": row["signed_at"],
                "privacy_notice_version": "test",
                "token_key": f"{number:032x}",
                "mails_sent": 0,
            }
        )
    if stored:
        table = Signature.__table__
        db.session.execute(insert(table), [fitted(table, row) for row in stored])
    db.session.commit()


def store_endorsements(petition, rows) -> None:
    stored = [
        {
            **row,
            "petition_id": petition.id,
            "contact_email_normalized": f"{number}@x",
            "consent_at": row["endorsed_at"],
            "privacy_notice_version": "test",
            "token_key": f"{number:032x}",
            "mails_sent": 0,
        }
        for number, row in enumerate(rows)
    ]
    if stored:
        table = Endorsement.__table__
        db.session.execute(insert(table), [fitted(table, row) for row in stored])
    db.session.commit()


def both_ways(query, who) -> tuple[tuple, tuple]:
    """(bytes, rows, first, last) of the Python path, then of the database's."""
    assert export_sql.supports(query, who)  # else the comparison proves nothing
    python, database = _Tally(who), _Tally(who)
    python_bytes = b"".join(csv_lines(COLUMNS[who], python.count(export_rows(query, who))))
    database_bytes = b"".join(export_sql.export_csv(query, who, database))
    db.session.rollback()
    return (
        (python_bytes, python.rows, python.first, python.last),
        (database_bytes, database.rows, database.first, database.last),
    )


def empty(petition) -> None:
    db.session.execute(delete(Signature).where(Signature.petition_id == petition.id))
    db.session.execute(delete(Endorsement).where(Endorsement.petition_id == petition.id))
    db.session.commit()


ANY_EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@ANY_EXAMPLES
@given(data=st.data())
def test_individuals_are_the_same_bytes(petition, data):
    empty(petition)
    store_signatures(petition, data.draw(signature_rows(nul_allowed())))
    filters = ExportFilters(who="individuals", status="all")
    python, database = both_ways(filters.query(petition), "individuals")
    assert database == python


@ANY_EXAMPLES
@given(data=st.data())
def test_organizations_are_the_same_bytes(petition, data):
    empty(petition)
    store_endorsements(petition, data.draw(endorsement_rows(nul_allowed())))
    filters = ExportFilters(who="organizations", status="all")
    python, database = both_ways(filters.query(petition), "organizations")
    assert database == python


FILTERS = st.builds(
    ExportFilters,
    who=st.just("individuals"),
    status=st.sampled_from(["confirmed", "pending", "invalid", "all"]),
    since=st.none() | st.dates(date(2000, 1, 1), date(2040, 1, 1)),
    until=st.none() | st.dates(date(2000, 1, 1), date(2040, 1, 1)),
    country=st.none() | st.sampled_from(["FR", "DE", "CI"]),
    wants_updates=st.booleans(),
    will_attend=st.booleans(),
    source=st.none() | st.sampled_from(["paper", "import"]),
)


@ANY_EXAMPLES
@given(data=st.data(), filters=FILTERS)
def test_filtered_exports_are_the_same_bytes(petition, data, filters):
    """The filters' values are written into the database's SQL: the same rows come out."""
    empty(petition)
    store_signatures(petition, data.draw(signature_rows(nul=False)))
    python, database = both_ways(filters.query(petition), "individuals")
    assert database == python


def test_every_column_has_its_sql(petition):
    """A new column of COLUMNS needs its cell in export_sql, or the CSV falls back to Python."""
    for who in ("individuals", "organizations"):
        assert export_sql.supports(ExportFilters(who=who).query(petition), who)


PAPER_SIGNED_AT = datetime(2024, 5, 1, tzinfo=UTC)


def paper_signature(**values) -> dict:
    """A confirmed paper signature without an address, as store_signatures takes it."""
    return {
        "email": None,
        "city": "Calais",
        "country": "FR",
        "affiliation": None,
        "show_publicly": True,
        "wants_updates": False,
        "will_attend": False,
        "status": SignatureStatus.CONFIRMED,
        "source": SignatureSource.PAPER,
        "locale": None,
        "signed_at": PAPER_SIGNED_AT,
        "confirmed_at": PAPER_SIGNED_AT,
        **values,
    }


def test_a_separator_in_the_data_goes_through_the_python_path(petition):
    """Rows the database's lines cannot carry are written exactly anyway, in their place."""
    names = ["Before", "Unit\x1fseparator", "Record\x1eseparator", "After, quoted"]
    confirmed = datetime(2024, 5, 2, tzinfo=UTC)
    store_signatures(
        petition, [paper_signature(full_name=name, confirmed_at=confirmed) for name in names]
    )
    python, database = both_ways(ExportFilters(status="all").query(petition), "individuals")
    assert database == python
    assert database[1] == 4


def test_a_long_export_is_the_same_bytes(petition):
    """Many rows, several fetches (SQLite) and ranges of keys (PostgreSQL), a few hostile."""
    base = datetime(2024, 5, 1, tzinfo=UTC)
    rows = [
        {
            "full_name": f"=Signer {n}" if n % 97 == 0 else f"Signer, {n}" if n % 89 == 0 else "S",
            "email": f"s{n}@example.org",
            "city": "Calais",
            "country": ("FR", "DE", "ZZ")[n % 3],
            "affiliation": None if n % 2 else "Collectif",
            "show_publicly": n % 2 == 0,
            "wants_updates": n % 3 == 0,
            "will_attend": n % 5 == 0,
            "status": SignatureStatus.CONFIRMED,
            "source": SignatureSource.IMPORT,
            "locale": "fr",
            "signed_at": base + timedelta(seconds=12_000 - n),
            "confirmed_at": base + timedelta(seconds=n, microseconds=n),
        }
        for n in range(12_000)
    ]
    store_signatures(petition, rows)
    python, database = both_ways(ExportFilters(status="all").query(petition), "individuals")
    assert database == python
    assert database[1:] == (12_000, base + timedelta(seconds=1), base + timedelta(seconds=12_000))


def test_an_export_stopped_early_leaves_the_session_usable(petition, make_signature):
    """An interrupted download stops the database's stream: the request can still roll back."""
    base = PAPER_SIGNED_AT
    store_signatures(petition, [paper_signature(full_name="x")] * 12_000)
    manifest = ExportManifest(petition_id=petition.id, actor="test", who="individuals")
    manifest.format, manifest.filename, manifest.filters = "csv", "x.csv", {}
    manifest.started_at = base
    db.session.add(manifest)
    db.session.commit()
    query = ExportFilters(status="all").query(petition)
    chunks = stream_export(manifest.id, "individuals", "csv", query)
    next(chunks)
    next(chunks)
    chunks.close()
    assert db.session.get(ExportManifest, manifest.id).finished_at is None
    db.session.rollback()


@pytest.mark.parametrize("who", ["individuals", "organizations"])
def test_an_empty_export_is_its_header(petition, who):
    python, database = both_ways(ExportFilters(who=who, status="all").query(petition), who)
    assert database == python
    assert database[1:] == (0, None, None)
