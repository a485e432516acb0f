"""Confirming an address: the details of the link used, never someone else's.

Whoever types an address has not proven it is theirs. Six quick submissions of someone
else's address used to spend that address's mails on that call, and the only links its
owner then held would have published the other person's name. Now each link confirms the
details it was mailed for, shown before the button; the owner can correct them; and the
mail cap is a day's, so it bounds what an address receives without locking its owner out.
"""

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from petition import signing
from petition.extensions import db
from petition.models import (
    Endorsement,
    EndorsementStatus,
    PetitionStatus,
    Signature,
    SignatureStatus,
    Submission,
    utcnow,
)

from .conftest import endorsement_fields, signature_fields

OWNER = {"full_name": "Amina Diallo", "city": "Calais", "country": "FR"}
SQUATTER = {"full_name": "Squatter", "city": "Nowhere", "country": "DE"}
ADDRESS = "squat@example.org"
FORM_TIME = re.compile(r'name="form_time" type="hidden" value="([^"]*)"')


def submit(client, petition, person: dict, email: str = ADDRESS, **extra):
    data = {**person, "email": email, "consent": "y", **extra}
    return client.post(f"/p/{petition.slug}/sign", data=data)


def confirm_links(mails, address: str = ADDRESS) -> list[str]:
    return [token for message in mails.to(address) for token in mails.links(message)]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def the_signature() -> Signature:
    db.session.expire_all()
    return db.session.scalars(select(Signature).filter_by(email=ADDRESS)).one()


def public_count(client, petition) -> int:
    return client.get(f"/p/{petition.slug}.json").json["individuals"]


def test_six_quick_submissions_cannot_take_the_owners_place(client, petition, mails):
    """The issue's attack: the owner's mails are spent, yet they sign with their own details."""
    for _ in range(6):
        assert submit(client, petition, SQUATTER, show_publicly="y").status_code == 302
    links = confirm_links(mails)
    assert len(links) == 5  # the day's cap still bounds what the address receives
    assert all("Hello Squatter," in m.get_content() for m in mails.to(ADDRESS))

    # The owner signs with their own details: no sixth mail today...
    assert submit(client, petition, OWNER).status_code == 302
    assert len(confirm_links(mails)) == 5
    # ...but every link they hold shows what it would confirm, before any button...
    page = client.get(f"/confirm/{links[-1]}").text
    assert "Squatter" in page and "These are not my details" in page
    # ...and lets them confirm their own details instead.
    response = client.post(
        f"/confirm/{links[-1]}/details", data={**OWNER, "show_publicly": "y", "consent": "y"}
    )
    assert response.status_code == 302
    signature = the_signature()
    assert (signature.full_name, signature.city, signature.country) == (
        "Amina Diallo",
        "Calais",
        "FR",
    )
    assert signature.status is SignatureStatus.CONFIRMED
    assert count(Submission) == 0  # the squatter's guesses are not kept
    assert "Squatter" not in client.get(f"/p/{petition.slug}/signers").text
    assert public_count(client, petition) == 1


def test_each_link_confirms_the_details_it_was_mailed_for(client, petition, mails):
    """The owner signs first; someone then submits the same address: the owner's link still
    confirms the owner's details, whichever was sent last."""
    submit(client, petition, OWNER)
    submit(client, petition, SQUATTER)
    owners, squatters = confirm_links(mails)
    assert "Hello Amina Diallo," in mails.to(ADDRESS)[0].get_content()
    assert "You signed as Squatter, Nowhere, Germany." in mails.to(ADDRESS)[1].get_content()
    assert "Amina Diallo" in client.get(f"/confirm/{owners}").text
    assert "Squatter" not in client.get(f"/confirm/{owners}").text

    assert client.post(f"/confirm/{owners}").status_code == 302
    assert the_signature().full_name == "Amina Diallo"
    # The other link now confirms nothing more and changes nothing.
    assert client.post(f"/confirm/{squatters}").status_code in (302, 404)
    assert the_signature().full_name == "Amina Diallo"


def test_the_squatters_first_row_is_not_what_the_owners_link_confirms(client, petition, mails):
    """The squatter signs first (the row holds their details); the owner's later link
    confirms the owner's details, in the owner's language."""
    submit(client, petition, SQUATTER)
    client.set_cookie("lang", "fr", domain="petitions.example.org")
    submit(client, petition, OWNER, affiliation="Infirmière", wants_updates="y")
    owners = confirm_links(mails)[1]
    assert mails.to(ADDRESS)[1]["Subject"].startswith("Veuillez confirmer")
    assert client.post(f"/confirm/{owners}").status_code == 302
    signature = the_signature()
    assert (signature.full_name, signature.affiliation, signature.wants_updates) == (
        "Amina Diallo",
        "Infirmière",
        True,
    )
    assert signature.locale == "fr"


def test_corrected_details_go_through_the_same_rules(client, petition, mails):
    submit(client, petition, SQUATTER)
    (link,) = confirm_links(mails)
    response = client.post(
        f"/confirm/{link}/details",
        data={**OWNER, "full_name": "Amina, see evil-example.com/login", "consent": "y"},
    )
    assert response.status_code == 422
    assert "Please do not enter a web address here." in response.text
    assert "<details class=\"correction\" open>" in response.text
    assert the_signature().status is SignatureStatus.PENDING
    missing_consent = client.post(f"/confirm/{link}/details", data=OWNER)
    assert missing_consent.status_code == 422
    assert the_signature().status is SignatureStatus.PENDING


def test_the_mail_cap_is_a_days_share(app, petition, mails):
    now = utcnow()
    for _ in range(7):
        signing.sign(petition, **signature_fields(email=ADDRESS), now=now)
        db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 4
    signature = the_signature()
    assert (signature.mails_sent, signature.mails_day) == (5, now.date())
    tomorrow = now + timedelta(days=1)
    signing.sign(petition, **signature_fields(email=ADDRESS), now=tomorrow)
    db.session.commit()
    signature = the_signature()
    assert (signature.mails_sent, signature.mails_day) == (1, tomorrow.date())


def test_a_forged_submission_in_a_link_is_refused(app, client, petition, mails):
    from petition.tokens import CONFIRM, make_token

    submit(client, petition, SQUATTER)
    signature = the_signature()
    with app.test_request_context():
        forged = make_token(CONFIRM, "signature", signature.id, signature.token_key, 999)
    assert client.get(f"/confirm/{forged}").status_code == 404


def test_an_organization_confirms_its_own_details_too(client, petition, mails, app):
    for contact_name in ("Squatter", "Jean Martin"):
        signing.endorse(
            petition,
            **endorsement_fields(contact_email=ADDRESS, contact_name=contact_name),
            locale="en",
        )
        db.session.commit()
    from petition import mail

    mail.send_pending()
    squatters, owners = confirm_links(mails)
    assert "Jean Martin" in client.get(f"/confirm/{owners}").text
    assert client.post(f"/confirm/{owners}").status_code == 302
    db.session.expire_all()
    endorsement = db.session.scalars(select(Endorsement)).one()
    assert endorsement.contact_name == "Jean Martin"
    assert endorsement.status is EndorsementStatus.AWAITING_APPROVAL


# --- a call closed meanwhile (issue 14, item 1) ---


@pytest.mark.parametrize("kind", ["sign", "endorse"])
def test_confirming_after_the_call_closed_counts_nothing(client, petition, mails, kind):
    if kind == "sign":
        submit(client, petition, OWNER)
    else:
        data = {
            "organization": "Collectif",
            "org_type": "collective",
            "country": "FR",
            "city": "Lille",
            "contact_name": "Jean Martin",
            "contact_email": ADDRESS,
            "contact_role": "Secretary",
            "authorized": "y",
            "consent": "y",
        }
        client.post(f"/p/{petition.slug}/endorse", data=data)
    (link,) = confirm_links(mails)
    petition.status = PetitionStatus.CLOSED
    petition.closed_at = utcnow()
    db.session.commit()

    page = client.get(f"/confirm/{link}")
    assert "This call is closed" in page.text and "Confirm my signature" not in page.text
    response = client.post(f"/confirm/{link}")
    assert response.status_code == 409
    assert "This call is closed" in response.text
    assert client.get(f"/p/{petition.slug}.json").json == {
        "slug": petition.slug,
        "individuals": 0,
        "organizations": 0,
    }
    db.session.expire_all()
    assert db.session.scalars(select(Signature.status)).all() in ([SignatureStatus.PENDING], [])
    assert db.session.scalars(select(Endorsement.status)).all() in (
        [EndorsementStatus.PENDING],
        [],
    )


def test_confirming_after_the_closing_date_counts_nothing(client, petition, mails):
    submit(client, petition, OWNER)
    (link,) = confirm_links(mails)
    petition.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.post(f"/confirm/{link}").status_code == 409
    assert the_signature().status is SignatureStatus.PENDING


# --- the bot stamp serves one form of one call (issue 13, point 10) ---


@pytest.mark.parametrize(("served", "sent"), [("sign", "endorse"), ("endorse", "sign")])
def test_a_form_stamp_serves_one_form_of_one_call(app, client, make_petition, served, sent):
    app.config["MIN_FORM_SECONDS"] = 1
    first, second = make_petition(), make_petition()
    stamp = FORM_TIME.search(client.get(f"/p/{first.slug}/{served}").text).group(1)
    time.sleep(1.1)
    person = {**OWNER, "email": "amina@example.org", "consent": "y", "form_time": stamp}
    organization = {
        "organization": "Collectif",
        "org_type": "collective",
        "country": "FR",
        "city": "Lille",
        "contact_name": "Jean Martin",
        "contact_email": "jean@example.org",
        "contact_role": "Secretary",
        "authorized": "y",
        "consent": "y",
        "form_time": stamp,
    }
    data = person if sent == "sign" else organization
    # The same stamp on another call, or on the other form: answered as a bot's, stored nothing.
    assert client.post(f"/p/{second.slug}/{sent}", data=data).status_code == 302
    assert client.post(f"/p/{first.slug}/{sent}", data=data).status_code == 302
    assert count(Signature) + count(Endorsement) == 0
    # On its own form and call it is a person's.
    own = person if served == "sign" else organization
    assert client.post(f"/p/{first.slug}/{served}", data=own).status_code == 302
    assert count(Signature) + count(Endorsement) == 1
