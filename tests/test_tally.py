"""The tally the database's triggers keep: after every kind of change it equals a real count."""

import io
import random
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from petition import imports, moderation, petitions, queries, retention, signing, tally
from petition.extensions import db
from petition.models import (
    AuditEntry,
    Endorsement,
    EndorsementStatus,
    Petition,
    SignatoryTally,
    Signature,
    SignatureStatus,
    utcnow,
)
from petition.moderation import SignatureCriteria

from .conftest import endorsement_fields, signature_fields
from .test_imports import csv_text, row

Counts = dict[tuple[int, str, str], int]


def counted() -> Counts:
    """What a COUNT(*) GROUP BY status of the rows says, per call."""
    found: Counts = {}
    for model, kind in ((Signature, "signature"), (Endorsement, "endorsement")):
        rows = db.session.execute(
            select(model.petition_id, model.status, func.count()).group_by(
                model.petition_id, model.status
            )
        )
        for petition_id, status, number in rows:
            found[(petition_id, kind, status.value)] = number
    return found


def tallied() -> Counts:
    """What the tally says, per call, leaving out statuses at zero."""
    rows = db.session.execute(
        select(
            SignatoryTally.petition_id,
            SignatoryTally.kind,
            SignatoryTally.status,
            func.sum(SignatoryTally.n),
        ).group_by(SignatoryTally.petition_id, SignatoryTally.kind, SignatoryTally.status)
    )
    return {(call, kind, status): int(number) for call, kind, status, number in rows if number}


def assert_tally_is_exact() -> None:
    """The tally, and the counts read from it, equal the rows'."""
    db.session.flush()
    expected = counted()
    assert tallied() == expected
    for petition in db.session.scalars(select(Petition)):
        confirmed = expected.get((petition.id, "signature", "confirmed"), 0)
        approved = expected.get((petition.id, "endorsement", "approved"), 0)
        assert queries.count_signatories(petition) == queries.Counts(
            confirmed + petition.purged_individuals, approved + petition.purged_organizations
        )
        prefixes = {"signature": "individuals", "endorsement": "organizations"}
        by_status = {
            f"{prefixes[kind]}_{status}": number
            for (call, kind, status), number in expected.items()
            if call == petition.id
        }
        withdrawn = {
            "individuals_withdrawn": petition.signatures_withdrawn,
            "organizations_withdrawn": petition.endorsements_withdrawn,
        }
        assert queries.status_counts(petition) == {**withdrawn, **by_status}


def test_signing_confirming_hiding_and_withdrawing(petition, make_signature):
    assert tallied() == {}
    first = make_signature(petition, email="a@example.org")
    make_signature(petition, email="b@example.org", confirmed=True)
    assert_tally_is_exact()
    assert tallied() == {
        (petition.id, "signature", "pending"): 1,
        (petition.id, "signature", "confirmed"): 1,
    }
    signing.confirm(first)
    assert_tally_is_exact()
    moderation.hide(first)  # hidden from the list, still counted
    assert_tally_is_exact()
    assert queries.count_signatories(petition).individuals == 2
    signing.sign(petition, **signature_fields(email="a@example.org"))  # again: a mail, no row
    assert_tally_is_exact()
    signing.withdraw(first)
    assert_tally_is_exact()
    assert queries.count_signatories(petition).individuals == 1


def test_endorsements_confirmed_approved_rejected_and_withdrawn(
    petition, make_endorsement, organizer
):
    approved = make_endorsement(petition, status=EndorsementStatus.APPROVED)
    rejected = make_endorsement(
        petition, status=EndorsementStatus.REJECTED, contact_email="r@example.org"
    )
    waiting = signing.endorse(petition, **endorsement_fields(contact_email="w@example.org"))
    assert_tally_is_exact()
    signing.confirm(waiting)
    assert_tally_is_exact()
    moderation.approve(rejected, organizer)
    moderation.reject(approved, organizer)
    assert_tally_is_exact()
    moderation.approve_many(petition, [waiting], organizer)
    assert_tally_is_exact()
    assert queries.count_signatories(petition).organizations == 2
    signing.withdraw(waiting)
    assert_tally_is_exact()
    assert queries.count_signatories(petition).organizations == 1


def test_invalidating_and_restoring_one_and_in_bulk(petition, make_signature):
    for n in range(6):
        make_signature(petition, email=f"s{n}@spam.example", confirmed=n % 2 == 0)
    kept = make_signature(petition, email="kept@example.org", confirmed=True)
    moderation.invalidate(kept, "a test")
    assert_tally_is_exact()
    moderation.restore(kept)
    assert_tally_is_exact()
    criteria = SignatureCriteria(domain="spam.example")
    assert moderation.invalidate_matching(petition, criteria) == 6
    assert_tally_is_exact()
    assert queries.count_signatories(petition).individuals == 1
    assert moderation.restore_matching(petition, criteria) == 6
    assert_tally_is_exact()
    assert queries.count_signatories(petition).individuals == 4


def test_an_import_and_a_discarded_import(petition, make_signature, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 10)  # rows are stored before the bad one
    make_signature(petition, email="online@example.org", confirmed=True)
    rows = [row(email=f"p{n}@example.org") for n in range(30)] + [row(email="")]
    report = imports.import_signatures(petition, io.StringIO(csv_text(rows)))
    assert report.stored == 31
    assert_tally_is_exact()
    # One bad row without --keep-valid: what was stored is deleted again.
    rows = [row(email=f"q{n}@example.org") for n in range(30)] + [row(country="Atlantis")]
    report = imports.import_signatures(petition, io.StringIO(csv_text(rows)))
    assert report.stored == 0
    assert_tally_is_exact()
    assert queries.count_signatories(petition).individuals == 32


def test_purging_unconfirmed_rows_and_a_whole_call(
    petition, make_petition, make_signature, make_endorsement
):
    other = make_petition()
    old = make_signature(petition, email="old@example.org")
    old.signed_at = utcnow() - timedelta(days=40)
    make_signature(petition, email="new@example.org")
    for n in range(3):
        make_signature(petition, email=f"c{n}@example.org", confirmed=True)
        make_signature(other, email=f"c{n}@example.org", confirmed=True)
    make_endorsement(petition, status=EndorsementStatus.APPROVED)
    make_endorsement(petition, contact_email="pending@example.org")
    db.session.commit()
    assert retention.purge_unconfirmed(30) == {"signatures": 1, "endorsements": 0}
    assert_tally_is_exact()
    petitions.close_call(petition)
    retention.purge_call(petition)
    db.session.commit()
    assert_tally_is_exact()
    assert queries.count_signatories(petition) == queries.Counts(3, 1)
    assert queries.status_counts(petition) == {
        "individuals_withdrawn": 0,
        "organizations_withdrawn": 0,
    }


def test_deleting_a_call_takes_its_counts_with_it(
    petition, make_petition, make_signature, make_endorsement
):
    other = make_petition()
    make_signature(petition, confirmed=True)
    make_signature(other, confirmed=True)
    make_endorsement(petition, status=EndorsementStatus.APPROVED)
    db.session.execute(delete(Petition).where(Petition.id == petition.id))
    db.session.commit()
    assert_tally_is_exact()
    assert tallied() == {(other.id, "signature", "confirmed"): 1}


def test_counts_spread_over_shards(petition, make_signature):
    """Consecutive signatures write different tally rows: concurrent ones do not queue."""
    for n in range(tally.SHARDS + 1):
        make_signature(petition, email=f"s{n}@example.org")
    shards = db.session.scalars(
        select(SignatoryTally.shard).where(SignatoryTally.petition_id == petition.id)
    ).all()
    assert sorted(shards) == list(range(tally.SHARDS))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_sequence_of_changes(
    seed, petition, make_petition, make_signature, make_endorsement, organizer
):
    """Whatever the order of changes, the tally stays exact."""
    chance = random.Random(seed)
    calls = [petition, make_petition()]

    def some(model, **where):
        found = db.session.scalars(select(model).filter_by(**where)).all()
        return chance.choice(found) if found else None

    def sign():
        call = chance.choice(calls)
        signing.sign(call, **signature_fields(email=f"s{chance.randrange(40)}@x.example"))

    def confirm():
        model, pending = chance.choice(
            [(Signature, SignatureStatus.PENDING), (Endorsement, EndorsementStatus.PENDING)]
        )
        if record := some(model, status=pending):
            signing.confirm(record)

    def endorse():
        address = f"o{chance.randrange(20)}@x.example"
        signing.endorse(chance.choice(calls), **endorsement_fields(contact_email=address))

    def review():
        if record := some(Endorsement, status=EndorsementStatus.AWAITING_APPROVAL):
            chance.choice([moderation.approve, moderation.reject])(record, organizer)

    def withdraw():
        if record := some(chance.choice([Signature, Endorsement])):
            signing.withdraw(record)

    def invalidate():
        if record := some(Signature, status=SignatureStatus.CONFIRMED):
            moderation.invalidate(record)

    def restore():
        if record := some(Signature, status=SignatureStatus.INVALID):
            moderation.restore(record)

    def in_bulk():
        criteria = SignatureCriteria(email=str(chance.randrange(10)))
        action = chance.choice([moderation.invalidate_matching, moderation.restore_matching])
        action(chance.choice(calls), criteria)

    def purge_unconfirmed():
        db.session.execute(update(Signature).values(signed_at=utcnow() - timedelta(days=40)))
        retention.purge_unconfirmed(30)

    def roll_back():
        db.session.rollback()

    changes = [sign, sign, sign, confirm, confirm, endorse, review, withdraw, invalidate]
    changes += [restore, in_bulk, purge_unconfirmed, roll_back]
    for _ in range(80):
        chance.choice(changes)()
        if chance.random() < 0.5:
            db.session.commit()
        assert_tally_is_exact()


def test_recount_finds_nothing_on_an_exact_tally(runner, petition, make_signature):
    make_signature(petition, confirmed=True)
    result = runner.invoke(args=["recount"])
    assert result.exit_code == 0, result.output
    assert "match" in result.output


def test_recount_repairs_a_tampered_tally(runner, petition, make_petition, make_signature):
    other = make_petition()
    for n in range(5):
        make_signature(petition, email=f"s{n}@example.org", confirmed=True)
        make_signature(other, email=f"s{n}@example.org", confirmed=n < 2)
    db.session.execute(text("UPDATE signatory_tally SET n = n + 100 WHERE status = 'confirmed'"))
    db.session.execute(text("DELETE FROM signatory_tally WHERE status = 'pending'"))
    db.session.commit()
    # The counts are read from the tally: the tampering shows.
    assert queries.count_signatories(petition).individuals > 5

    result = runner.invoke(args=["recount", "--dry-run"])
    assert result.exit_code == 1
    assert f"{petition.slug}: signature confirmed" in result.output
    assert f"{other.slug}: signature pending: the tally said 0, the rows are 3" in result.output
    assert tallied() != counted()

    result = runner.invoke(args=["recount", petition.slug])
    assert result.exit_code == 0, result.output
    assert other.slug not in result.output
    assert queries.count_signatories(petition).individuals == 5
    assert queries.count_signatories(other).individuals > 2  # not asked for

    result = runner.invoke(args=["recount"])
    assert result.exit_code == 0, result.output
    assert "2 count(s) repaired" in result.output
    assert_tally_is_exact()
    entries = db.session.scalars(select(AuditEntry).filter_by(action="recount")).all()
    assert len(entries) == 2


def test_recount_says_when_the_triggers_are_missing(runner, petition, make_signature):
    db.session.execute(text(tally.drop_statements(db.engine.dialect.name)[0]))
    result = runner.invoke(args=["recount"])
    assert result.exit_code == 1
    assert "signature_tally_insert" in result.output
    db.session.rollback()  # PostgreSQL: the trigger comes back (the schema is shared)
