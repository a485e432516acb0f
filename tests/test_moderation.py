"""The campaign page and moderation: hiding, invalid signatures, bulk changes, endorsements."""

import csv
import html
import io
import itertools
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from petition import moderation, signing
from petition.exports import export_csv
from petition.extensions import db
from petition.models import (
    EndorsementStatus,
    Signature,
    SignatureStatus,
    utcnow,
)
from petition.moderation import SignatureCriteria
from petition.queries import export_individuals

from .conftest import log_in
from .helpers import organizers_actions


def sign(petition, name, email, *, confirmed=True, days_ago=0, country="FR", **fields):
    """A signature signed (and confirmed) a number of days ago."""
    when = utcnow() - timedelta(days=days_ago)
    signature = signing.sign(
        petition,
        full_name=name,
        email=email,
        city="Calais",
        country=country,
        show_publicly=True,
        now=when,
        **fields,
    )
    if confirmed:
        signing.confirm(signature, now=when)
    db.session.commit()
    return signature


def audit_entries(action=None):
    return [entry for entry in organizers_actions() if action is None or entry.action == action]


def reload(record):
    db.session.expire_all()
    return db.session.get(type(record), record.id)


def text_of(response) -> str:
    """The page as text, tags removed and spaces squeezed, for assertions on what it says."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split()))


def public_names(client, petition) -> str:
    return client.get(f"/p/{petition.slug}/signers").get_data(as_text=True)


def exported(petition) -> str:
    with db.session.no_autoflush:
        return b"".join(export_csv(export_individuals(petition), "individuals")).decode()


# --- The campaign page ---


def test_campaign_page_shows_counts_days_countries_and_awaiting(
    logged_in, petition, make_endorsement
):
    sign(petition, "Amina Diallo", "amina@example.org", days_ago=2)
    sign(petition, "Jonas Weber", "jonas@example.org", days_ago=2, country="DE")
    sign(petition, "Lena Roth", "lena@example.org", country="DE")
    sign(petition, "Pending Person", "pending@example.org", confirmed=False)
    spam = sign(petition, "Spam Bot", "bot@spam.example", country="US")
    moderation.invalidate(spam)
    petition.signatures_withdrawn = 4
    db.session.commit()
    make_endorsement(petition, status=EndorsementStatus.APPROVED)
    make_endorsement(
        petition,
        status=EndorsementStatus.AWAITING_APPROVAL,
        organization="Waiting Org",
        contact_email="waiting@example.org",
    )

    response = logged_in.get(f"/organizer/p/{petition.slug}/campaign")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    page = text_of(response)
    assert "Confirmed / approved 3 1" in page
    assert "Waiting for email confirmation 1 0" in page
    assert "Waiting for your approval — 1" in page
    assert "Invalid / rejected 1 0" in page
    assert "Withdrawn 4 0" in page
    # The chart: one bar per day from the first confirmation to today, numbers in a table.
    html = response.get_data(as_text=True)
    today, two_days_ago = utcnow().date(), utcnow().date() - timedelta(days=2)
    assert html.count('class="bar"') == 3
    assert '<title id="chart-title">Confirmed signatures per day</title>' in html
    assert f"3 signatures confirmed from {two_days_ago} to {today}" in page
    assert f"{two_days_ago} 2 {two_days_ago + timedelta(days=1)} 0 {today} 1" in page
    assert f"<title>{two_days_ago}: 2</title>" in html
    # Countries: confirmed only, most first (the invalid US one is not there).
    assert "Country Confirmed signatures Germany 2 France 1" in page
    assert (
        "United States"
        not in page.split("Confirmed signatures by country")[1].split("Endorsements awaiting")[0]
    )
    assert "Waiting Org" in page
    assert f'href="/organizer/p/{petition.slug}/endorsements"' in html
    # Latest signatures: every status, newest first.
    latest = page.split("Latest signatures")[1]
    assert latest.index("Spam Bot") < latest.index("Amina Diallo")
    assert "Pending Person" in latest


def test_campaign_page_of_a_call_without_signatures(logged_in, petition):
    response = logged_in.get(f"/organizer/p/{petition.slug}/campaign")
    assert response.status_code == 200
    page = text_of(response)
    assert f"0 signatures confirmed from {utcnow().date()} to {utcnow().date()}" in page
    assert "No confirmed signature yet." in page and "No signature yet." in page
    assert "Nothing to review." in page


def test_campaign_page_of_an_unknown_call_is_404(logged_in):
    assert logged_in.get("/organizer/p/nothing-here/campaign").status_code == 404
    assert logged_in.get("/organizer/p/nothing-here/signatures").status_code == 404


def test_confirmations_by_day_fills_gaps_and_stays_bounded(app, make_petition):
    petition = make_petition()
    petition.created_at = datetime(2024, 1, 1, tzinfo=UTC)
    for day, count in ((date(2024, 1, 3), 2), (date(2024, 1, 5), 1), (date(2023, 12, 1), 7)):
        for n in range(count):
            when = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=n)
            signature = signing.sign(
                petition,
                full_name="A",
                email=f"{day}-{n}@example.org",
                city="Calais",
                country="FR",
                now=when,
            )
            signing.confirm(signature, now=when)
    db.session.commit()
    days = moderation.confirmations_by_day(petition, today=date(2024, 1, 6))
    # The December confirmations (an import, before the call existed) start the chart.
    assert days[0] == (date(2023, 12, 1), 7)
    assert days[-1] == (date(2024, 1, 6), 0)
    assert dict(days)[date(2024, 1, 3)] == 2
    assert dict(days)[date(2024, 1, 4)] == 0
    assert len(days) == 37
    # At most CHART_DAYS days, ending today.
    later = moderation.confirmations_by_day(petition, today=date(2024, 12, 31))
    assert len(later) == moderation.CHART_DAYS
    assert later[-1][0] == date(2024, 12, 31)
    short = moderation.confirmations_by_day(petition, today=date(2024, 1, 6), days=3)
    assert short == [(date(2024, 1, 4), 0), (date(2024, 1, 5), 1), (date(2024, 1, 6), 0)]


def test_a_closed_call_charts_up_to_its_end(app, make_petition):
    petition = make_petition(
        event_starts_at=None, event_timezone=None, event_place=None, event_address=None
    )
    petition.created_at = datetime(2016, 9, 1, tzinfo=UTC)
    petition.closes_at = datetime(2016, 10, 14, tzinfo=UTC)
    db.session.commit()
    days = moderation.confirmations_by_day(petition, today=date(2024, 1, 1))
    assert days[-1] == (date(2016, 10, 14), 0)
    assert days[0] == (date(2016, 9, 1), 0)


def test_latest_signatures_are_paginated_by_fifty(logged_in, petition):
    now = utcnow()
    rows = [
        {
            "petition_id": petition.id,
            "full_name": f"Signer {n:03}",
            "email": f"s{n}@example.org",
            "email_normalized": f"s{n}@example.org",
            "city": "Calais",
            "country": "FR",
            "status": "confirmed",
            "signed_at": now - timedelta(minutes=n),
            "confirmed_at": now,
            "consent_at": now,
            "privacy_notice_version": "test",
            "token_key": f"{n:032x}",
        }
        for n in range(51)
    ]
    db.session.execute(insert(Signature.__table__), rows)
    db.session.commit()
    first = text_of(logged_in.get(f"/organizer/p/{petition.slug}/campaign"))
    assert "Signer 000" in first and "Signer 049" in first and "Signer 050" not in first
    assert "Page 1 of 2" in first
    second = logged_in.get(f"/organizer/p/{petition.slug}/campaign?page=2")
    assert second.status_code == 200
    assert "Signer 050" in text_of(second) and "Signer 049" not in text_of(second)
    assert logged_in.get(f"/organizer/p/{petition.slug}/campaign?page=3").status_code == 404


# --- Hiding and invalid signatures, one at a time ---


def test_hide_and_unhide_keep_the_signature_counted(logged_in, client, petition):
    signature = sign(petition, "Amina Diallo", "amina@example.org")
    url = f"/organizer/signatures/{signature.id}"
    response = logged_in.post(f"{url}/hide")
    assert response.status_code == 302
    assert response.headers["Location"] == url
    assert reload(signature).hidden is True
    assert reload(signature).status is SignatureStatus.CONFIRMED
    assert "Amina Diallo" not in public_names(client, petition)
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 1
    [entry] = audit_entries("hide")
    assert entry.subject == f"signature {signature.id}" and entry.petition_id == petition.id
    assert entry.actor == "organizer@example.org"

    # Twice is refused with a message, and nothing more is recorded.
    again = logged_in.post(f"{url}/hide")
    assert again.status_code == 409
    assert "changed meanwhile" in text_of(again)
    assert len(audit_entries("hide")) == 1

    response = logged_in.post(
        f"{url}/unhide", data={"next": f"/organizer/p/{petition.slug}/campaign"}
    )
    assert response.headers["Location"] == f"/organizer/p/{petition.slug}/campaign"
    assert reload(signature).hidden is False
    assert "Amina Diallo" in public_names(client, petition)
    assert len(audit_entries("unhide")) == 1


def test_next_must_stay_on_the_site(logged_in, petition):
    signature = sign(petition, "Amina Diallo", "amina@example.org")
    response = logged_in.post(
        f"/organizer/signatures/{signature.id}/hide", data={"next": "https://evil.example/"}
    )
    assert response.headers["Location"] == f"/organizer/signatures/{signature.id}"


def test_invalidate_leaves_counts_public_list_and_export_then_restore(
    app, logged_in, client, petition
):
    app.config["COUNTS_CACHE_SECONDS"] = 60  # the view must forget the cached count
    signature = sign(petition, "Spam Bot", "bot@example.org")
    sign(petition, "Amina Diallo", "amina@example.org")
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 2

    response = logged_in.post(
        f"/organizer/signatures/{signature.id}/invalidate", data={"reason": "A bot"}
    )
    assert response.status_code == 302
    stored = reload(signature)
    assert stored.status is SignatureStatus.INVALID
    assert stored.invalidated_at is not None and stored.invalid_reason == "A bot"
    assert stored.confirmed_at is not None
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 1
    assert "Spam Bot" not in public_names(client, petition)
    assert "bot@example.org" not in exported(petition)
    assert "amina@example.org" in exported(petition)
    [entry] = audit_entries("invalidate")
    assert entry.subject == f"signature {signature.id}"
    # The audit outlives the signer: the words of their name ("Spam Bot") are not kept.
    assert entry.details == {"reason": "A [name]"}
    page = text_of(logged_in.get(f"/organizer/signatures/{signature.id}"))
    assert "Invalid" in page and "A bot" in page

    response = logged_in.post(f"/organizer/signatures/{signature.id}/restore")
    assert response.status_code == 302
    stored = reload(signature)
    assert stored.status is SignatureStatus.CONFIRMED
    assert stored.invalidated_at is None and stored.invalid_reason is None
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 2
    assert "Spam Bot" in public_names(client, petition)
    assert "bot@example.org" in exported(petition)
    [entry] = audit_entries("restore")
    assert entry.details == {"status": "confirmed"}
    # Nothing about the signer in the log.
    for entry in audit_entries():
        assert "Spam" not in str(entry.details) and "bot@" not in str(entry.details)


def test_restore_gives_an_unconfirmed_signature_back_its_pending_status(app, petition):
    signature = sign(petition, "Pending Person", "pending@example.org", confirmed=False)
    moderation.invalidate(signature)
    moderation.restore(signature)
    db.session.commit()
    assert reload(signature).status is SignatureStatus.PENDING
    assert reload(signature).invalidated_at is None


@pytest.mark.parametrize(
    ("action", "prepare"),
    [("restore", None), ("invalidate", "invalidate"), ("unhide", None), ("hide", "hide")],
)
def test_impossible_changes_are_refused(logged_in, petition, action, prepare):
    signature = sign(petition, "Amina Diallo", "amina@example.org")
    if prepare:
        getattr(moderation, prepare)(signature)
        db.session.commit()
    before = len(audit_entries())
    response = logged_in.post(f"/organizer/signatures/{signature.id}/{action}")
    assert response.status_code == 409
    assert "nothing was done" in text_of(response)
    assert len(audit_entries()) == before


def test_a_too_long_reason_is_refused(logged_in, petition):
    signature = sign(petition, "Amina Diallo", "amina@example.org")
    response = logged_in.post(
        f"/organizer/signatures/{signature.id}/invalidate", data={"reason": "x" * 201}
    )
    assert response.status_code == 422
    assert "At most 200 characters" in text_of(response)
    assert reload(signature).status is SignatureStatus.CONFIRMED
    assert audit_entries() == []


def test_unknown_signature_is_404(logged_in):
    assert logged_in.get("/organizer/signatures/999").status_code == 404
    assert logged_in.post("/organizer/signatures/999/hide").status_code == 404


# --- Search and bulk changes ---


@pytest.fixture
def crowd(petition):
    """Signatures to search: two spam ones from one domain, one old, one pending."""
    return {
        "bot1": sign(petition, "Bot One", "one@spam.example", days_ago=1),
        "bot2": sign(petition, "BOT Two", "two@SPAM.example", confirmed=False, days_ago=1),
        "notspam": sign(petition, "Robot Fan", "fan@notspam.example", days_ago=1),
        "old": sign(petition, "Old Signer", "old@example.org", days_ago=30),
        "amina": sign(petition, "Amina Diallo", "amina@example.org"),
    }


def names_found(response) -> set[str]:
    html = response.get_data(as_text=True)
    return set(re.findall(r'<a href="/organizer/signatures/\d+">([^<]+)</a>', html))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"Bot One", "BOT Two", "Robot Fan", "Old Signer", "Amina Diallo"}),
        ("name=bot", {"Bot One", "BOT Two", "Robot Fan"}),
        ("name=BOT+o", {"Bot One"}),
        ("email=SPAM.EXAMPLE", {"Bot One", "BOT Two", "Robot Fan"}),
        ("domain=spam.example", {"Bot One", "BOT Two"}),
        ("domain=%40Spam.Example", {"Bot One", "BOT Two"}),
        ("status=pending", {"BOT Two"}),
        ("name=bot&status=confirmed", {"Bot One", "Robot Fan"}),
        ("name=%25", set()),  # a LIKE wildcard is a plain character here
    ],
)
def test_search(logged_in, petition, crowd, query, expected):
    response = logged_in.get(f"/organizer/p/{petition.slug}/signatures?{query}")
    assert response.status_code == 200
    assert names_found(response) == expected
    assert f"{len(expected)} signature" in text_of(response)


def test_search_by_dates(logged_in, petition, crowd):
    today = utcnow().date()
    since = today - timedelta(days=2)
    response = logged_in.get(
        f"/organizer/p/{petition.slug}/signatures?signed_from={since}&signed_until={today}"
    )
    assert names_found(response) == {"Bot One", "BOT Two", "Robot Fan", "Amina Diallo"}
    response = logged_in.get(
        f"/organizer/p/{petition.slug}/signatures?signed_until={today - timedelta(days=1)}"
    )
    assert names_found(response) == {"Bot One", "BOT Two", "Robot Fan", "Old Signer"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("signed_from=yesterday", "Not a valid date"),
        ("signed_from=2024-02-01&signed_until=2024-01-01", "end date is before"),
        ("domain=a@b.example", "only the part after the @"),
        ("status=deleted", "choose from the list"),
    ],
)
def test_search_refuses_bad_criteria(logged_in, petition, crowd, query, message):
    response = logged_in.get(f"/organizer/p/{petition.slug}/signatures?{query}")
    assert response.status_code == 422
    assert message in text_of(response)
    assert names_found(response) == set()


def test_search_is_paginated(logged_in, petition):
    for n in range(51):
        sign(petition, f"Signer {n:03}", f"s{n}@example.org")
    first = logged_in.get(f"/organizer/p/{petition.slug}/signatures?name=signer")
    assert len(names_found(first)) == 50
    assert "51 signatures found" in text_of(first)
    assert 'href="/organizer/p/call-1/signatures?page=2&amp;name=signer"' in first.get_data(
        as_text=True
    )
    second = logged_in.get(f"/organizer/p/{petition.slug}/signatures?name=signer&page=2")
    assert len(names_found(second)) == 1


def test_bulk_invalidation_by_domain_shows_the_count_then_changes_all(
    logged_in, client, petition, crowd
):
    url = f"/organizer/p/{petition.slug}/signatures"
    page = logged_in.get(f"{url}?domain=spam.example")
    assert "2 signatures match and can be marked invalid." in text_of(page)
    assert "0 invalid signatures match" in text_of(page)
    assert 'name="expected" value="2"' in page.get_data(as_text=True)
    assert audit_entries() == []  # the GET changed nothing

    response = logged_in.post(
        f"{url}/invalidate", data={"domain": "spam.example", "expected": "2", "reason": "spam"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{url}?domain=spam.example"
    assert "2 signatures marked invalid." in text_of(logged_in.get(response.headers["Location"]))
    for key in ("bot1", "bot2"):
        stored = reload(crowd[key])
        assert stored.status is SignatureStatus.INVALID and stored.invalid_reason == "spam"
    assert reload(crowd["notspam"]).status is SignatureStatus.CONFIRMED
    [entry] = audit_entries("invalidate_bulk")
    # Two matches: a domain that few share may be someone's own, so the audit does not keep it.
    assert entry.details == {"criteria": {"domain": "[given]"}, "count": 2, "reason": "spam"}
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 3
    assert "Bot One" not in public_names(client, petition)
    assert "one@spam.example" not in exported(petition)

    # Now they can be restored, the same way; the pending one becomes pending again.
    page = logged_in.get(f"{url}?domain=spam.example")
    assert "0 signatures match and can be marked invalid." in text_of(page)
    assert "2 invalid signatures match and can be restored." in text_of(page)
    response = logged_in.post(f"{url}/restore", data={"domain": "spam.example", "expected": "2"})
    assert response.status_code == 302
    assert reload(crowd["bot1"]).status is SignatureStatus.CONFIRMED
    assert reload(crowd["bot2"]).status is SignatureStatus.PENDING
    assert reload(crowd["bot2"]).invalidated_at is None
    [entry] = audit_entries("restore_bulk")
    assert entry.details == {"criteria": {"domain": "[given]"}, "count": 2}


def test_bulk_invalidation_is_refused_if_the_count_changed(logged_in, petition, crowd):
    url = f"/organizer/p/{petition.slug}/signatures"
    sign(petition, "Bot Three", "three@spam.example")  # arrived after the organizer looked
    response = logged_in.post(f"{url}/invalidate", data={"domain": "spam.example", "expected": "2"})
    assert response.status_code == 409
    page = text_of(response)
    assert "you saw 2, there are now 3" in page
    assert "3 signatures match and can be marked invalid." in page
    assert (
        db.session.scalar(select(func.count()).where(Signature.status == SignatureStatus.INVALID))
        == 0
    )
    assert audit_entries() == []


def test_bulk_invalidation_by_name_and_dates(logged_in, petition, crowd):
    url = f"/organizer/p/{petition.slug}/signatures"
    yesterday = utcnow().date() - timedelta(days=1)
    criteria = {"name": "bot", "signed_from": str(yesterday), "signed_until": str(yesterday)}
    page = logged_in.get(url, query_string=criteria)
    assert "3 signatures match" in text_of(page)
    response = logged_in.post(f"{url}/invalidate", data={**criteria, "expected": "3"})
    assert response.status_code == 302
    invalid = db.session.scalars(
        select(Signature.full_name).where(Signature.status == SignatureStatus.INVALID)
    ).all()
    assert set(invalid) == {"Bot One", "BOT Two", "Robot Fan"}
    [entry] = audit_entries("invalidate_bulk")
    assert entry.details["criteria"] == {
        "name": "[given]",  # a name searched for is someone's: the audit keeps only its use
        "signed_from": str(yesterday),
        "signed_until": str(yesterday),
    }
    assert entry.details["count"] == 3


def test_bulk_change_needs_a_criterion(logged_in, petition, crowd):
    url = f"/organizer/p/{petition.slug}/signatures"
    assert "can be marked invalid" not in text_of(logged_in.get(url))
    response = logged_in.post(f"{url}/invalidate", data={"expected": "5"})
    assert response.status_code == 422
    assert "Give a name, an email, a domain or dates first." in text_of(response)
    assert audit_entries() == []
    with pytest.raises(ValueError):
        moderation.invalidate_matching(petition, SignatureCriteria())


def test_bulk_change_refuses_a_missing_count(logged_in, petition, crowd):
    response = logged_in.post(
        f"/organizer/p/{petition.slug}/signatures/invalidate", data={"domain": "spam.example"}
    )
    assert response.status_code == 422
    assert reload(crowd["bot1"]).status is SignatureStatus.CONFIRMED


def test_bulk_change_stays_in_its_call(app, petition, make_petition, crowd):
    other = make_petition()
    outsider = sign(other, "Bot Elsewhere", "bot@spam.example")
    assert moderation.invalidate_matching(petition, SignatureCriteria(domain="spam.example")) == 2
    db.session.commit()
    assert reload(outsider).status is SignatureStatus.CONFIRMED


# --- Endorsements, many at once ---


@pytest.fixture
def waiting(petition, make_endorsement):
    return [
        make_endorsement(
            petition,
            status=EndorsementStatus.AWAITING_APPROVAL,
            organization=f"Org {n}",
            contact_email=f"org{n}@example.org",
        )
        for n in range(3)
    ]


@pytest.mark.parametrize(
    ("decision", "status"),
    [("approve", EndorsementStatus.APPROVED), ("reject", EndorsementStatus.REJECTED)],
)
def test_bulk_review_of_endorsements(logged_in, client, petition, waiting, decision, status):
    url = f"/organizer/p/{petition.slug}/endorsements"
    page = logged_in.get(url)
    assert page.status_code == 200
    assert "3 endorsements awaiting approval" in text_of(page)
    assert page.get_data(as_text=True).count('type="checkbox"') == 3
    chosen = [waiting[0].id, waiting[2].id]
    response = logged_in.post(url, data={"endorsements": chosen, "decision": decision})
    assert response.status_code == 302 and response.headers["Location"] == url
    assert [reload(e).status for e in waiting] == [
        status,
        EndorsementStatus.AWAITING_APPROVAL,
        status,
    ]
    assert reload(waiting[0]).reviewed_by_id is not None
    [entry] = audit_entries(f"{decision}_bulk")
    assert entry.details == {"ids": sorted(chosen), "count": 2}
    assert entry.petition_id == petition.id
    expected_public = 2 if decision == "approve" else 0
    assert client.get(f"/p/{petition.slug}.json").json["organizations"] == expected_public
    assert "1 endorsement awaiting approval" in text_of(logged_in.get(url))


def test_bulk_review_changes_nothing_if_one_was_reviewed_meanwhile(
    logged_in, petition, waiting, organizer
):
    moderation.reject(waiting[1], organizer)
    db.session.commit()
    response = logged_in.post(
        f"/organizer/p/{petition.slug}/endorsements",
        data={"endorsements": [e.id for e in waiting], "decision": "approve"},
    )
    assert response.status_code == 409
    assert "reviewed meanwhile" in text_of(response)
    assert reload(waiting[0]).status is EndorsementStatus.AWAITING_APPROVAL
    assert reload(waiting[1]).status is EndorsementStatus.REJECTED
    # Only the other organizer's rejection is recorded: the refused bulk approval left nothing.
    assert [(e.action, e.subject) for e in audit_entries()] == [
        ("reject", f"endorsement {waiting[1].id}")
    ]


def test_bulk_review_refuses_endorsements_of_another_call(
    logged_in, petition, make_petition, make_endorsement, waiting
):
    other = make_endorsement(
        make_petition(), status=EndorsementStatus.AWAITING_APPROVAL, contact_email="x@example.org"
    )
    response = logged_in.post(
        f"/organizer/p/{petition.slug}/endorsements",
        data={"endorsements": [waiting[0].id, other.id], "decision": "approve"},
    )
    assert response.status_code == 422
    assert "not on this call's list" in text_of(response)
    assert reload(waiting[0]).status is EndorsementStatus.AWAITING_APPROVAL
    assert reload(other).status is EndorsementStatus.AWAITING_APPROVAL


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"decision": "approve"}, "Tick at least one endorsement."),
        ({"endorsements": ["1"], "decision": "delete"}, "Please choose from the list."),
        ({"endorsements": ["x"], "decision": "approve"}, "Tick at least one endorsement."),
        ({"endorsements": [str(n) for n in range(501)], "decision": "approve"}, "At most 500"),
    ],
)
def test_bulk_review_refuses_bad_input(logged_in, petition, waiting, data, message):
    response = logged_in.post(f"/organizer/p/{petition.slug}/endorsements", data=data)
    assert response.status_code == 422
    assert message in text_of(response)
    assert all(reload(e).status is EndorsementStatus.AWAITING_APPROVAL for e in waiting)


# --- Rights, GETs and CSRF ---


def moderation_urls(app, petition, signature_id):
    """Every route of the moderation blueprint, with each method it takes."""
    values = {"slug": petition.slug, "signature_id": signature_id}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("moderation."):
            continue
        choices = {
            argument: sorted(rule._converters[argument].items)
            for argument in rule.arguments - values.keys()
        }
        for combination in itertools.product(*choices.values()):
            arguments = {**values, **dict(zip(choices, combination, strict=True))}
            url = rule.build(arguments, append_unknown=False)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, url


def test_every_moderation_route_is_there(app, petition):
    urls = set(moderation_urls(app, petition, 1))
    assert len(urls) == 11
    assert ("GET", f"/organizer/p/{petition.slug}/campaign") in urls
    assert ("POST", "/organizer/signatures/1/invalidate") in urls


def test_an_organizer_without_rights_gets_403_everywhere(
    app, client, petition, make_petition, make_organizer, waiting
):
    signature = sign(petition, "Bot One", "one@spam.example")
    helper = make_organizer("helper@example.org", petitions=[make_petition()])
    log_in(client, helper)
    urls = list(moderation_urls(app, petition, signature.id))
    for method, url in urls:
        data = {
            "domain": "spam.example",
            "expected": "1",
            "endorsements": [e.id for e in waiting],
            "decision": "approve",
        }
        response = client.open(url, method=method, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, url)
        assert b"one@spam.example" not in response.data and b"Org 0" not in response.data
    assert reload(signature).status is SignatureStatus.CONFIRMED
    assert reload(signature).hidden is False
    assert all(reload(e).status is EndorsementStatus.AWAITING_APPROVAL for e in waiting)
    assert audit_entries() == []


def test_an_organizer_with_rights_works_on_their_call(client, petition, make_organizer):
    signature = sign(petition, "Bot One", "one@spam.example")
    helper = make_organizer("helper@example.org", petitions=[petition])
    log_in(client, helper)
    assert client.get(f"/organizer/p/{petition.slug}/campaign").status_code == 200
    assert client.post(f"/organizer/signatures/{signature.id}/hide").status_code == 302
    assert audit_entries("hide")[0].actor == "helper@example.org"


def test_anonymous_visitors_are_sent_to_log_in(app, client, petition):
    signature = sign(petition, "Bot One", "one@spam.example")
    for method, url in moderation_urls(app, petition, signature.id):
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/organizer/login")


def test_a_get_never_changes_anything(app, logged_in, petition, crowd, waiting):
    before = db.session.execute(
        select(Signature.id, Signature.status, Signature.hidden).order_by(Signature.id)
    ).all()
    query = {
        "domain": "spam.example",
        "expected": "2",
        "endorsements": [e.id for e in waiting],
        "decision": "approve",
        "reason": "spam",
    }
    urls = list(moderation_urls(app, petition, crowd["bot1"].id))
    readable = {url for method, url in urls if method == "GET"}
    for _method, url in urls:
        response = logged_in.get(url, query_string=query)
        assert response.status_code == (200 if url in readable else 405), url
    db.session.expire_all()
    after = db.session.execute(
        select(Signature.id, Signature.status, Signature.hidden).order_by(Signature.id)
    ).all()
    assert after == before
    assert all(reload(e).status is EndorsementStatus.AWAITING_APPROVAL for e in waiting)
    assert audit_entries() == []


def test_posts_need_the_csrf_token(app, logged_in, petition, crowd, waiting):
    app.config["WTF_CSRF_ENABLED"] = True
    posts = [
        (url, {"domain": "spam.example", "expected": "2"})
        for method, url in moderation_urls(app, petition, crowd["bot1"].id)
        if method == "POST"
    ]
    for url, data in posts:
        data = {**data, "endorsements": [waiting[0].id], "decision": "approve"}
        response = logged_in.post(url, data=data)
        assert response.status_code == 400, url
    assert reload(crowd["bot1"]).status is SignatureStatus.CONFIRMED
    assert reload(crowd["bot1"]).hidden is False
    assert reload(waiting[0]).status is EndorsementStatus.AWAITING_APPROVAL
    assert audit_entries() == []


def test_pages_work_with_the_csrf_token(app, logged_in, petition, crowd):
    """The forms the pages serve carry a token the posts accept."""
    app.config["WTF_CSRF_ENABLED"] = True
    url = f"/organizer/p/{petition.slug}/signatures"
    page = logged_in.get(f"{url}?domain=spam.example").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = logged_in.post(
        f"{url}/invalidate", data={"domain": "spam.example", "expected": "2", "csrf_token": token}
    )
    assert response.status_code == 302
    assert reload(crowd["bot1"]).status is SignatureStatus.INVALID


def test_the_export_route_leaves_invalid_signatures_out(logged_in, petition, crowd):
    moderation.invalidate(crowd["bot1"])
    db.session.commit()
    rows = list(csv.reader(io.StringIO(exported(petition).lstrip("\ufeff"))))
    emails = {row[1] for row in rows[1:]}
    assert "one@spam.example" not in emails and "fan@notspam.example" in emails
    assert len(rows) == 1 + 3  # confirmed and valid: notspam, old, amina


def test_campaign_figures_are_shared_for_a_minute_and_dropped_when_moderating(
    app, logged_in, petition, make_signature
):
    app.config["CAMPAIGN_CACHE_SECONDS"] = 60
    first = make_signature(petition, confirmed=True, email="first@example.org", country="FR")
    confirmed = re.compile(r"Confirmed / approved</th><td>(\d+)</td>")
    page = logged_in.get(f"/organizer/p/{petition.slug}/campaign").get_data(as_text=True)
    assert "Figures as of" in page
    assert confirmed.search(page).group(1) == "1"
    make_signature(petition, confirmed=True, email="second@example.org", country="SN")
    page = logged_in.get(f"/organizer/p/{petition.slug}/campaign").get_data(as_text=True)
    assert confirmed.search(page).group(1) == "1"  # the cached figures: a minute old at most
    response = logged_in.post(f"/organizer/signatures/{first.id}/invalidate")
    assert response.status_code == 302
    page = logged_in.get(f"/organizer/p/{petition.slug}/campaign").get_data(as_text=True)
    assert confirmed.search(page).group(1) == "1"  # the second one counts, the first not
    assert re.search(r"Invalid / rejected</th><td>1</td>", page)
