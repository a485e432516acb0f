"""Signing and endorsing through the forms: validation, duplicates, confirmation, withdrawal."""

import threading

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from petition.extensions import db
from petition.models import (
    Endorsement,
    EndorsementStatus,
    PetitionStatus,
    Signature,
    SignatureStatus,
)

VALID_SIGNATURE = {
    "full_name": "Amina Diallo",
    "email": "amina@example.org",
    "city": "Calais",
    "country": "FR",
    "affiliation": "Nurse",
    "show_publicly": "y",
    "consent": "y",
}
VALID_ENDORSEMENT = {
    "organization": "Collectif Solidarité",
    "org_type": "collective",
    "country": "FR",
    "city": "Lille",
    "website": "https://solidarite.example.org",
    "contact_name": "Jean Martin",
    "contact_email": "jean@example.org",
    "contact_role": "Secretary",
    "show_publicly": "y",
    "authorized": "y",
    "consent": "y",
}


def rows(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def sign(client, petition, **changes):
    data = {**VALID_SIGNATURE, **changes}
    return client.post(
        f"/p/{petition.slug}/sign", data={k: v for k, v in data.items() if v is not None}
    )


def endorse(client, petition, **changes):
    data = {**VALID_ENDORSEMENT, **changes}
    return client.post(
        f"/p/{petition.slug}/endorse", data={k: v for k, v in data.items() if v is not None}
    )


def test_sign_form_page(client, petition):
    page = client.get(f"/p/{petition.slug}/sign").text
    for name in (
        "full_name",
        "email",
        "city",
        "country",
        "affiliation",
        "show_publicly",
        "wants_updates",
        "consent",
    ):
        assert f'name="{name}"' in page
    assert '<option value="FR">France</option>' in page
    assert 'href="/privacy"' in page


def test_valid_signature_is_stored_and_the_signer_told_to_check_mail(client, petition, mails):
    response = sign(client, petition, full_name="  Amina   Diallo ", email="Amina@Example.ORG")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/p/{petition.slug}/check-your-email"
    signature = db.session.execute(select(Signature)).scalar_one()
    assert signature.full_name == "Amina Diallo"
    assert signature.email == "Amina@Example.ORG"
    assert signature.email_normalized == "amina@example.org"
    assert signature.affiliation == "Nurse"
    assert signature.show_publicly is True and signature.wants_updates is False
    assert signature.status is SignatureStatus.PENDING
    (message,) = mails
    assert message["To"] == "Amina@example.org"
    assert "Open the borders" in message["Subject"]
    assert client.get(response.headers["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_name", "", "This field is required."),
        ("full_name", "   ", "This field is required."),
        ("full_name", "x" * 121, "At most 120 characters"),
        ("full_name", "Amina\u202eDiallo", "invisible or control characters"),
        ("full_name", "Amina\u200bDiallo", "invisible or control characters"),
        ("full_name", "Buy now https://spam.example.com", "web address"),
        ("email", "", "This field is required."),
        ("email", "amina", "An email address has an @, as in name@example.org."),
        ("email", "amina@", "Something is missing after the @."),
        ("email", "amina@example", "After the @ comes a domain such as example.org."),
        ("email", "amina@example.test", "The part after the @ cannot receive email."),
        ("email", "a" * 250 + "@example.org", "At most 254 characters"),
        ("email", "am\u200bina@example.org", "a space, an invisible or an unusual character"),
        ("city", "", "This field is required."),
        ("city", "c" * 101, "At most 100 characters"),
        ("city", "Calais\x00", "invisible or control characters"),
        ("country", "", "Please choose a country."),
        ("country", "XX", "Please choose from the list."),
        ("country", "EU", "Please choose from the list."),
        ("country", "fr", "Please choose from the list."),
        ("affiliation", "a" * 151, "At most 150 characters"),
        ("consent", None, "We can only record your signature with your consent."),
    ],
)
def test_invalid_signature_is_refused_with_a_message(client, petition, field, value, message):
    response = sign(client, petition, **{field: value})
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert rows(Signature) == 0


def test_entered_values_are_kept_after_an_error(client, petition):
    response = sign(client, petition, email="not-an-email", full_name="Zoë Ünal")
    assert response.status_code == 422
    assert 'value="Zoë Ünal"' in response.text
    assert 'value="not-an-email"' in response.text
    assert '<option selected value="FR">' in response.text


def test_markup_in_input_is_escaped_on_the_error_page(client, petition):
    response = sign(client, petition, full_name='"><script>alert(1)</script>', email="bad")
    assert response.status_code == 422
    assert "<script>alert(1)" not in response.text


def test_deliverability_check_is_a_setting(app, client, petition, monkeypatch):
    calls = []

    def fake_validate(address, check_deliverability):
        calls.append(check_deliverability)
        from email_validator import validate_email

        return validate_email(address, check_deliverability=False)

    monkeypatch.setattr("petition.rules.validate_email", fake_validate)
    sign(client, petition)
    app.config["EMAIL_CHECK_DELIVERABILITY"] = True
    sign(client, petition, email="other@example.org")
    assert calls[0] is False
    assert True in calls


@pytest.mark.parametrize(
    "variant",
    ["AMINA@EXAMPLE.ORG", "amina@ＥＸＡＭＰＬＥ.ORG", " amina@example.org "],
)
def test_duplicate_gets_the_same_answer_and_a_fresh_mail(client, petition, mails, variant):
    first = sign(client, petition)
    second = sign(client, petition, email=variant, full_name="Someone Else")
    assert second.status_code == first.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert rows(Signature) == 1
    assert db.session.execute(select(Signature.full_name)).scalar_one() == "Amina Diallo"
    assert len(mails) == 2
    assert "/confirm/" in mails[1].get_content()


def test_concurrent_identical_submissions_store_one_row(app, petition):
    barrier = threading.Barrier(2)
    statuses = []
    url = f"/p/{petition.slug}/sign"

    def submit():
        client = app.test_client()
        barrier.wait(timeout=10)
        statuses.append(client.post(url, data=VALID_SIGNATURE).status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [302, 302]
    assert rows(Signature) == 1


def confirm_token(mails, kind="confirm"):
    return mails.links(mails[-1], kind)[0]


def test_confirmation_link_get_changes_nothing_post_confirms(client, petition, mails):
    sign(client, petition)
    token = confirm_token(mails)
    for _ in range(3):  # a mail scanner fetching the link, repeatedly
        page = client.get(f"/confirm/{token}")
        assert page.status_code == 200
        assert "Confirm my signature" in page.text
    assert db.session.execute(select(Signature.status)).scalar_one() is SignatureStatus.PENDING
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 0

    response = client.post(f"/confirm/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/p/{petition.slug}"
    db.session.expire_all()
    signature = db.session.execute(select(Signature)).scalar_one()
    assert signature.status is SignatureStatus.CONFIRMED and signature.confirmed_at
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 1
    assert "Your signature is confirmed" in client.get(f"/p/{petition.slug}").text

    again = client.post(f"/confirm/{token}")  # confirming twice is harmless
    assert again.status_code == 302
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 1


def test_expired_link_gets_a_clear_page(app, client, petition, mails):
    sign(client, petition)
    token = confirm_token(mails)
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1
    for method in (client.get, client.post):
        response = method(f"/confirm/{token}")
        assert response.status_code == 410
        assert "This link has expired" in response.text
    assert db.session.execute(select(Signature.status)).scalar_one() is SignatureStatus.PENDING


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: token.split(".")[0],
        lambda token: "nonsense",
        lambda token: "%00%ff" + token,
        lambda token: token + "." * 3,
    ],
)
def test_tampered_link_gets_a_clear_page(client, petition, mails, mangle):
    sign(client, petition)
    token = mangle(confirm_token(mails))
    for method in (client.get, client.post):
        response = method(f"/confirm/{token}")
        assert response.status_code == 404
        assert "This link is not valid" in response.text
    assert db.session.execute(select(Signature.status)).scalar_one() is SignatureStatus.PENDING


def test_forged_link_signed_with_another_key_is_refused(client, petition, mails):
    sign(client, petition)
    signature = db.session.execute(select(Signature)).scalar_one()
    forged = URLSafeTimedSerializer("guessed key", salt="petition.confirm").dumps(
        ["signature", signature.id, signature.token_key]
    )
    assert client.post(f"/confirm/{forged}").status_code == 404


def test_withdraw_token_cannot_confirm_and_confirm_token_cannot_withdraw(client, petition, mails):
    sign(client, petition)
    withdraw = confirm_token(mails, "withdraw")
    confirm = confirm_token(mails, "confirm")
    assert client.post(f"/confirm/{withdraw}").status_code == 404
    assert client.post(f"/withdraw/{confirm}").status_code == 404
    assert rows(Signature) == 1


def test_withdrawal_deletes_the_signature(client, petition, mails):
    sign(client, petition)
    token = confirm_token(mails, "withdraw")
    client.post(f"/confirm/{confirm_token(mails)}")
    assert client.get(f"/withdraw/{token}").status_code == 200
    assert rows(Signature) == 1  # the GET changed nothing
    response = client.post(f"/withdraw/{token}")
    assert response.status_code == 302
    assert rows(Signature) == 0
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 0
    assert client.post(f"/withdraw/{token}").status_code == 404  # gone for good
    # Signing again is possible and starts afresh.
    assert sign(client, petition).status_code == 302
    assert rows(Signature) == 1


@pytest.mark.parametrize(
    ("language", "told", "not_told"),
    [
        ("en", "The endorsement has been withdrawn and its details deleted.", "Your signature"),
        ("fr", "Le soutien a été retiré et ses données supprimées.", "Votre signature"),
        ("ar", "تم سحب التأييد وحذف بياناته.", "توقيعك"),
    ],
)
def test_an_organization_that_withdraws_is_told_of_its_endorsement(
    client, petition, mails, language, told, not_told
):
    endorse(client, petition)
    token = confirm_token(mails, "withdraw")
    headers = {"Accept-Language": language}
    page = client.get(f"/withdraw/{token}", headers=headers).text
    # The organization's name keeps its own direction inside the sentence.
    assert "<bdi>Collectif Solidarité</bdi>" in page
    response = client.post(f"/withdraw/{token}", headers=headers, follow_redirects=True)
    assert rows(Endorsement) == 0
    assert told in response.text
    assert not_told not in response.text


def test_a_signer_who_withdraws_is_told_of_their_signature(client, petition, mails):
    sign(client, petition, full_name="أمينة ديالو")
    token = confirm_token(mails, "withdraw")
    assert "<bdi>أمينة ديالو</bdi>" in client.get(f"/withdraw/{token}").text
    response = client.post(f"/withdraw/{token}", follow_redirects=True)
    assert "Your signature has been withdrawn and your details deleted." in response.text
    assert "endorsement" not in response.text.lower()


@pytest.mark.parametrize(
    "changes",
    [{"status": PetitionStatus.CLOSED}, {"closes_at": "past"}],
)
def test_closed_call_refuses_with_a_message(client, make_petition, changes):
    from .conftest import days_ago

    if changes.get("closes_at") == "past":
        changes = {"closes_at": days_ago(1)}
    petition = make_petition(**changes)
    page = client.get(f"/p/{petition.slug}/sign")
    assert page.status_code == 200 and "This call is closed" in page.text
    assert 'name="full_name"' not in page.text
    for response in (sign(client, petition), endorse(client, petition)):
        assert response.status_code == 409
        assert "This call is closed" in response.text
    assert rows(Signature) == 0 and rows(Endorsement) == 0


def test_endorsement_flow(client, petition, mails, logged_in):
    response = endorse(client, petition, website="solidarite.example.org")
    assert response.status_code == 302
    endorsement = db.session.execute(select(Endorsement)).scalar_one()
    assert endorsement.website == "https://solidarite.example.org"
    assert endorsement.status is EndorsementStatus.PENDING
    client.post(f"/confirm/{confirm_token(mails)}")
    db.session.expire_all()
    assert endorsement.status is EndorsementStatus.AWAITING_APPROVAL
    assert "Collectif Solidarité" not in client.get(f"/p/{petition.slug}").text
    client.post(f"/organizer/endorsements/{endorsement.id}/approve")
    page = client.get(f"/p/{petition.slug}").text
    assert "Collectif Solidarité" in page
    assert 'href="https://solidarite.example.org"' in page
    assert "jean@example.org" not in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("organization", "", "This field is required."),
        ("organization", "o" * 201, "At most 200 characters"),
        ("org_type", "", "Please choose a type."),
        ("org_type", "cult", "Please choose from the list."),
        ("website", "javascript:alert(1)", "Enter a web address"),
        ("website", "data:text/html,<script>alert(1)</script>", "Enter a web address"),
        ("website", "ftp://example.org", "Enter a web address"),
        ("website", "https://user:pw@example.org", "Enter a web address"),
        ("website", "https://exa mple.org", "Enter a web address"),
        ("website", "https://example.org:99999", "Enter a web address"),
        ("website", "https://" + "w" * 300 + ".org", "At most 300 characters"),
        ("contact_name", "", "This field is required."),
        ("contact_email", "jean@", "Something is missing after the @."),
        ("contact_role", "", "This field is required."),
        ("authorized", None, "Only someone authorized by the organization can endorse."),
        ("consent", None, "We can only record your signature with your consent."),
    ],
)
def test_invalid_endorsement_is_refused_with_a_message(client, petition, field, value, message):
    response = endorse(client, petition, **{field: value})
    assert response.status_code == 422
    assert message in response.text
    assert rows(Endorsement) == 0


def test_website_is_optional(client, petition):
    assert endorse(client, petition, website="").status_code == 302
    assert db.session.execute(select(Endorsement.website)).scalar_one() is None


def test_call_without_endorsements_has_no_form(client, make_petition):
    petition = make_petition(collects_endorsements=False)
    assert "does not collect endorsements" in client.get(f"/p/{petition.slug}/endorse").text
    assert endorse(client, petition).status_code == 409
    assert rows(Endorsement) == 0


def test_a_forged_host_header_cannot_redirect_mailed_links(client, petition, mails):
    """With SERVER_NAME set, another Host is refused, so no mail links to someone else's site."""
    response = client.post(
        f"/p/{petition.slug}/sign", data=VALID_SIGNATURE, headers={"Host": "evil.example"}
    )
    assert response.status_code == 400
    assert rows(Signature) == 0 and mails == []
    assert sign(client, petition).status_code == 302
    assert "http://petitions.example.org/confirm/" in mails[-1].get_content()
    assert "evil.example" not in mails[-1].get_content()
