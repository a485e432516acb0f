"""The import's bulk storage: rows stored as the ORM would store them, every duplicate named.

imports._Store converts values once per distinct value and hands tuples to the DB-API
(executemany on SQLite, COPY into a temporary table on PostgreSQL), without RETURNING:
the rows the unique index skipped are found afterwards by their random tokens.
"""

import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, select, type_coerce

from petition import imports
from petition.extensions import db
from petition.models import Signature, SignatureSource, SignatureStatus

NOW = datetime(2025, 1, 1, 12, 0, 0, 5, tzinfo=UTC)
HEADER = ["full_name", "email", "city", "country", "show_publicly", "wants_updates", "signed_on"]


def csv_text(rows: list[list[str]]) -> io.StringIO:
    lines = [",".join(HEADER)] + [",".join(row) for row in rows]
    return io.StringIO("\r\n".join(lines) + "\r\n")


def stored(petition) -> list[Signature]:
    return list(
        db.session.scalars(
            select(Signature).where(Signature.petition_id == petition.id).order_by(Signature.id)
        )
    )


def test_rows_are_stored_as_the_orm_stores_them(petition):
    """Same values, same text in SQLite's columns (its filters compare times as text)."""
    rows = [
        ["Zoé Łukasiewicz", "Zoe@Example.ORG", "Łódź", "PL", "yes", "no", "2024-05-01"],
        ["Jean", "", "Calais", "France", "oui", "1", "2024-05-01T10:30:00+02:00"],
        ["Amina", "amina@example.org", "Lille", "fr", "0", "true", ""],
    ]
    report = imports.import_signatures(petition, csv_text(rows), now=NOW)
    assert (report.stored, report.rejected_rows) == (3, 0)
    zoe, jean, amina = stored(petition)
    assert (zoe.email, zoe.email_normalized, zoe.city, zoe.country) == (
        "Zoe@Example.ORG",
        "zoe@example.org",
        "Łódź",
        "PL",
    )
    assert (zoe.show_publicly, zoe.wants_updates, zoe.will_attend) == (True, False, False)
    assert zoe.signed_at == zoe.consent_at == datetime(2024, 5, 1, tzinfo=UTC)
    assert jean.email is None and jean.email_normalized is None and jean.country == "FR"
    assert jean.signed_at == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)  # stored in UTC
    assert amina.signed_at == NOW and amina.wants_updates is True
    for signature in (zoe, jean, amina):
        assert signature.status is SignatureStatus.CONFIRMED
        assert signature.source is SignatureSource.PAPER
        assert signature.confirmed_at == NOW and signature.hidden is False
        assert signature.mails_sent == 0 and len(signature.token_key) == 32
    assert len({s.token_key for s in (zoe, jean, amina)}) == 3
    # A row the ORM stores with the same times holds the very same text.
    reference = Signature(
        petition_id=petition.id,
        full_name="Reference",
        city="Calais",
        country="FR",
        status=SignatureStatus.CONFIRMED,
        source=SignatureSource.PAPER,
        signed_at=jean.signed_at,
        confirmed_at=NOW,
        consent_at=jean.signed_at,
        privacy_notice_version="paper",
        token_key="0" * 32,
    )
    db.session.add(reference)
    db.session.flush()
    as_text = select(
        type_coerce(Signature.signed_at, String), type_coerce(Signature.confirmed_at, String)
    )
    texts = db.session.execute(as_text.where(Signature.id.in_([jean.id, reference.id]))).all()
    assert texts[0] == texts[1]
    db.session.rollback()


def test_every_duplicate_is_named_across_batches(petition, make_signature, monkeypatch):
    """In the file (with the first row's number) and in the call, whatever the batch."""
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    web = make_signature(petition, confirmed=True, full_name="Web", email="taken@example.org")
    rows = [
        ["A", "a@example.org", "Calais", "FR", "", "", ""],  # row 2
        ["B", "b@example.org", "Calais", "FR", "", "", ""],
        ["C", "TAKEN@example.org", "Calais", "FR", "", "", ""],  # row 4: in the call
        ["D", "d@example.org", "Calais", "FR", "", "", ""],
        ["E", "B@Example.org", "Calais", "FR", "", "", ""],  # row 6: as row 3
        ["F", "f@example.org", "Calais", "FR", "", "", ""],
        ["G", "", "Calais", "FR", "", "", ""],
    ]
    report = imports.import_signatures(petition, csv_text(rows), keep_valid=True, now=NOW)
    problems = [(p.row, p.field, p.message) for p in report.problems]
    assert problems == [
        (4, "email", "This email address has already signed this call."),
        (6, "email", "The same email address as row 3."),
    ]
    assert (report.stored, report.valid, report.duplicates, report.rejected_rows) == (5, 5, 2, 2)
    assert [s.full_name for s in stored(petition)] == ["Web", "A", "B", "D", "F", "G"]
    assert web.source is SignatureSource.WEB and web.full_name == "Web"
    db.session.rollback()


def test_a_commit_between_batches_does_not_lose_the_next_ones(
    petition, make_signature, monkeypatch
):
    """PostgreSQL's batch table goes with each commit: the next batch makes it again."""
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    real_statement = imports._insert_statement
    calls = []

    def commit_meanwhile():
        calls.append(1)
        if len(calls) == 2:  # someone signs, and commits, between two batches
            make_signature(petition, email="online@example.org", full_name="Online")
        return real_statement()

    monkeypatch.setattr(imports, "_insert_statement", commit_meanwhile)
    rows = [[f"S{n}", f"s{n}@example.org", "Calais", "FR", "", "", ""] for n in range(5)]
    rows.append(["Late", "online@example.org", "Calais", "FR", "", "", ""])
    report = imports.import_signatures(petition, csv_text(rows), keep_valid=True, now=NOW)
    assert (report.stored, report.duplicates) == (5, 1)
    assert [(p.row, p.field) for p in report.problems] == [(7, "email")]
    db.session.commit()
    names = sorted(s.full_name for s in stored(petition))
    assert names == ["Online", "S0", "S1", "S2", "S3", "S4"]


def test_a_rejected_row_takes_back_the_stored_batches(petition, monkeypatch):
    """All or nothing: batches stored before a bad row are deleted again."""
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    rows = [[f"S{n}", f"s{n}@example.org", "Calais", "FR", "", "", ""] for n in range(5)]
    rows.append(["Bad", "bad@", "Calais", "FR", "", "", ""])
    report = imports.import_signatures(petition, csv_text(rows), now=NOW)
    assert report.stored == 0 and report.failed
    assert stored(petition) == []
    db.session.rollback()


def test_a_date_with_an_offset_is_kept_as_its_utc_instant(petition):
    later = (NOW - timedelta(days=1)).isoformat().replace("+00:00", "-05:00")
    report = imports.import_signatures(
        petition, csv_text([["A", "a@example.org", "Calais", "FR", "", "", later]]), now=NOW
    )
    assert report.stored == 1
    (signature,) = stored(petition)
    assert signature.signed_at == NOW - timedelta(days=1) + timedelta(hours=5)
    db.session.rollback()
