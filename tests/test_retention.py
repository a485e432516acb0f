"""Data retention: unconfirmed signatures, calls past their retention, whole-call deletion."""

from datetime import timedelta

from sqlalchemy import func, select

from petition import queries, retention
from petition.extensions import db
from petition.models import (
    AuditEntry,
    Endorsement,
    EndorsementStatus,
    OutgoingMail,
    PetitionStatus,
    Signature,
    utcnow,
)

from .conftest import days_ago, log_in


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def close(petition, when=None):
    petition.status = PetitionStatus.CLOSED
    petition.closed_at = when or utcnow()
    db.session.commit()


def test_purge_deletes_only_unconfirmed_signatures_past_the_retention(
    runner, petition, make_signature, make_endorsement
):
    old = make_signature(petition, email="old@example.org", now=days_ago(31))
    recent = make_signature(petition, email="recent@example.org", now=days_ago(29))
    confirmed_old = make_signature(
        petition, confirmed=True, email="kept@example.org", now=days_ago(90)
    )
    old_endorsement = make_endorsement(petition, now=days_ago(40))
    old_id, recent_id, kept_id, endorsement_id = (
        old.id,
        recent.id,
        confirmed_old.id,
        old_endorsement.id,
    )
    assert count(OutgoingMail) == 4
    result = runner.invoke(args=["purge"])  # the default: 30 days
    assert result.exit_code == 0, result.output
    assert "1 signatures and 1 endorsements deleted" in result.output
    remaining = set(db.session.execute(select(Signature.id)).scalars())
    assert remaining == {recent_id, kept_id}
    assert old_id not in remaining
    assert db.session.get(Endorsement, endorsement_id) is None
    # Their queued mails went with them.
    assert count(OutgoingMail) == 2
    entry = db.session.execute(select(AuditEntry).filter_by(action="purge_unconfirmed")).scalar()
    assert entry.details == {"older_than_days": 30, "signatures": 1, "endorsements": 1}

    result = runner.invoke(args=["purge", "--unconfirmed-older-than", "7"])
    assert result.exit_code == 0, result.output
    assert set(db.session.execute(select(Signature.id)).scalars()) == {kept_id}


def test_purging_a_call_keeps_its_counts_and_nothing_else(
    app, client, petition, make_petition, make_signature, make_endorsement
):
    other = make_petition()
    make_signature(petition, confirmed=True, email="a@example.org", show_publicly=True)
    make_signature(petition, confirmed=True, email="b@example.org")
    make_signature(petition, email="pending@example.org")
    make_signature(other, confirmed=True, email="a@example.org")
    make_endorsement(petition, status=EndorsementStatus.APPROVED)
    before = queries.count_signatories(petition)
    assert (before.individuals, before.organizations) == (2, 1)
    close(petition)
    deleted = retention.purge_call(petition)
    db.session.commit()
    assert deleted == {"signatures": 3, "endorsements": 1}
    assert queries.count_signatories(petition) == before
    assert count(Signature) == 1  # the other call's
    page = client.get(f"/p/{petition.slug}").get_data(as_text=True)
    assert "Amina Diallo" not in page
    assert db.session.execute(select(AuditEntry).filter_by(action="purge_call")).scalar()


def test_an_open_call_cannot_be_purged(runner, petition, make_signature):
    make_signature(petition, confirmed=True)
    result = runner.invoke(args=["purge", "--call", petition.slug, "--yes"])
    assert result.exit_code == 1
    assert "close the call" in result.output
    assert count(Signature) == 1


def test_calls_are_purged_when_their_retention_after_the_campaign_is_over(
    runner, make_petition, make_signature
):
    ended_long_ago = make_petition(event_starts_at=None, event_timezone=None)
    ended_recently = make_petition(event_starts_at=None, event_timezone=None)
    no_retention = make_petition(event_starts_at=None, event_timezone=None)
    for petition in (ended_long_ago, ended_recently, no_retention):
        make_signature(petition, confirmed=True)
    ended_long_ago.purge_after_days = 30
    ended_recently.purge_after_days = 30
    close(ended_long_ago, days_ago(31))
    close(ended_recently, days_ago(29))
    close(no_retention, days_ago(400))
    assert retention.calls_due_for_purge() == [ended_long_ago]
    assert retention.purge_date(ended_recently) == ended_recently.closed_at + timedelta(days=30)
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert ended_long_ago.slug in result.output
    remaining = set(db.session.execute(select(Signature.petition_id)).scalars())
    assert remaining == {ended_recently.id, no_retention.id}
    assert queries.count_signatories(ended_long_ago).individuals == 1


def test_the_rally_date_counts_as_the_end_of_the_campaign(make_petition):
    petition = make_petition()
    petition.purge_after_days = 10
    close(petition, days_ago(100))
    # The rally (in 2030 in the factory) is later than the closing: it is the end.
    assert retention.purge_date(petition) == petition.event_starts_at + timedelta(days=10)
    assert retention.calls_due_for_purge() == []


def test_only_owners_purge_from_the_workspace_and_must_type_the_slug(
    app, logged_in, make_organizer, petition, make_signature
):
    make_signature(petition, confirmed=True)
    close(petition)
    helper = make_organizer(petitions=[petition])
    other = log_in(app.test_client(), helper)
    assert (
        other.post(f"/organizer/p/{petition.slug}/purge", data={"slug": petition.slug}).status_code
        == 403
    )
    assert count(Signature) == 1
    page = logged_in.get(f"/organizer/p/{petition.slug}").get_data(as_text=True)
    assert "Delete the signers" in page
    response = logged_in.post(f"/organizer/p/{petition.slug}/purge", data={"slug": "wrong"})
    assert response.status_code == 302
    assert count(Signature) == 1
    response = logged_in.post(f"/organizer/p/{petition.slug}/purge", data={"slug": petition.slug})
    assert response.status_code == 302
    assert count(Signature) == 0
    db.session.refresh(petition)
    assert queries.count_signatories(petition).individuals == 1
    page = logged_in.get(f"/organizer/p/{petition.slug}").get_data(as_text=True)
    assert "only the counts are kept" in page


def test_the_workspace_refuses_to_purge_an_open_call(logged_in, petition, make_signature):
    make_signature(petition, confirmed=True)
    response = logged_in.post(f"/organizer/p/{petition.slug}/purge", data={"slug": petition.slug})
    assert response.status_code == 302
    assert count(Signature) == 1


def test_every_page_shows_the_kept_counts_after_a_purge(
    logged_in, petition, make_signature, make_endorsement
):
    from .test_moderation import text_of

    for number in range(3):
        make_signature(petition, confirmed=True, email=f"s{number}@example.org")
    make_signature(petition, email="pending@example.org")
    make_endorsement(petition, status=EndorsementStatus.APPROVED)
    close(petition)
    retention.purge_call(petition)
    db.session.commit()
    assert count(Signature) == count(Endorsement) == 0

    slug = petition.slug
    assert logged_in.get(f"/p/{slug}.json").json == {
        "slug": slug,
        "individuals": 3,
        "organizations": 1,
    }
    assert "3 people have signed" in text_of(logged_in.get(f"/p/{slug}"))
    campaign = text_of(logged_in.get(f"/organizer/p/{slug}/campaign"))
    assert "Confirmed / approved 3 1" in campaign
    assert "only the counts are kept" in campaign
    overview = text_of(logged_in.get(f"/organizer/p/{slug}"))
    assert "Counted in public 3 1" in overview
    workspace = text_of(logged_in.get("/organizer/"))
    assert f"{petition.title} closed 3 0 0" in workspace
    handover = text_of(logged_in.get(f"/organizer/p/{slug}/handover"))
    assert "Individuals who signed and confirmed 3 Organizations 1" in handover
