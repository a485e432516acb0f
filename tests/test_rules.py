"""The signer's rules (petition/rules.py): one check for the forms, the import and the domain.

Web addresses (bare domains included) stay out of every free text that reaches a mail or a
public page; email-validator's reasons are said in the page's language; throwaway domains
are refused; and the domain functions refuse what the forms refuse, whoever calls them.
"""

import pytest
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from petition import rules, signing
from petition.extensions import db
from petition.models import Endorsement, OrganizationType, Signature

from .conftest import endorsement_fields, signature_fields

SIGNATURE_FORM = {
    "full_name": "Amina Diallo",
    "email": "amina@example.org",
    "city": "Calais",
    "country": "FR",
    "affiliation": "Nurse",
    "consent": "y",
}
ENDORSEMENT_FORM = {
    "organization": "Collectif Solidarité",
    "org_type": "collective",
    "country": "FR",
    "city": "Lille",
    "contact_name": "Jean Martin",
    "contact_email": "jean@example.org",
    "contact_role": "Secretary",
    "authorized": "y",
    "consent": "y",
}
WEB_ADDRESSES = [
    "Jean, reset at evil-example.com/login",
    "evil-example.com",
    "EVIL-EXAMPLE.COM",
    "visit calais-news.org today",
    "evil-example\u3002com",  # the ideographic full stop a browser reads as a dot
    "ｅｖｉｌ-example.com",  # full-width letters
    "www.example",
    "see https://example.org",
]
# Abbreviations with dots that are no web address: people write them in names and roles.
NOT_WEB_ADDRESSES = [
    "J.R.R. Tolkien",
    "M.Sc. student",
    "Ph.D. candidate",
    "Ste.Marie",
    "St.-Denis",
    "Dipl.-Ing. Müller",
    "N.Y.C.",
    "Univ. Paris 8",
]
SIGNATURE_TEXTS = ["full_name", "city", "affiliation"]
ENDORSEMENT_TEXTS = ["organization", "city", "contact_name", "contact_role"]


def stored(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def post(client, petition, form: str, data: dict, **changes):
    return client.post(f"/p/{petition.slug}/{form}", data={**data, **changes})


@pytest.mark.parametrize("text", WEB_ADDRESSES)
@pytest.mark.parametrize("field", SIGNATURE_TEXTS)
def test_the_signing_form_refuses_web_addresses_in_every_free_text(client, petition, field, text):
    response = post(client, petition, "sign", SIGNATURE_FORM, **{field: text})
    assert response.status_code == 422
    assert "Please do not enter a web address here." in response.text
    assert stored(Signature) == 0


@pytest.mark.parametrize("text", WEB_ADDRESSES[:4])
@pytest.mark.parametrize("field", ENDORSEMENT_TEXTS)
def test_the_endorsement_form_refuses_web_addresses_in_every_free_text(
    client, petition, field, text
):
    response = post(client, petition, "endorse", ENDORSEMENT_FORM, **{field: text})
    assert response.status_code == 422
    assert "Please do not enter a web address here." in response.text
    assert stored(Endorsement) == 0


@pytest.mark.parametrize("text", NOT_WEB_ADDRESSES)
def test_abbreviations_with_dots_are_not_taken_for_web_addresses(client, petition, text):
    response = post(client, petition, "sign", SIGNATURE_FORM, full_name=text, affiliation=text)
    assert response.status_code == 302
    assert stored(Signature) == 1


@pytest.mark.parametrize("text", WEB_ADDRESSES)
@pytest.mark.parametrize("field", SIGNATURE_TEXTS)
def test_signing_refuses_web_addresses_whoever_calls_it(app, petition, field, text):
    with pytest.raises(rules.InvalidSubmission) as refused:
        signing.sign(petition, **signature_fields(**{field: text}))
    assert set(refused.value.problems) == {field}
    db.session.rollback()
    assert stored(Signature) == 0


@pytest.mark.parametrize("field", ENDORSEMENT_TEXTS)
def test_endorsing_refuses_web_addresses_whoever_calls_it(app, petition, field):
    with pytest.raises(rules.InvalidSubmission) as refused:
        signing.endorse(petition, **endorsement_fields(**{field: "evil-example.com/login"}))
    assert set(refused.value.problems) == {field}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"full_name": ""}, "full_name"),
        ({"full_name": "A" * 121}, "full_name"),
        ({"full_name": "Amina\u202eDiallo"}, "full_name"),
        ({"city": "   "}, "city"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "someone@mailinator.com"}, "email"),
        ({"country": "XX"}, "country"),
        ({"country": "fr"}, "country"),
    ],
)
def test_signing_refuses_what_the_form_refuses(app, petition, changes, field):
    with pytest.raises(rules.InvalidSubmission) as refused:
        signing.sign(petition, **signature_fields(**changes))
    assert set(refused.value.problems) == {field}


def test_signing_cleans_the_text_it_stores(app, petition):
    signature = signing.sign(
        petition, **signature_fields(full_name="  Amina \t Diallo ", city="Calais\u00a0")
    )
    assert (signature.full_name, signature.city) == ("Amina Diallo", "Calais")


def test_endorsing_checks_the_website_too(app, petition):
    with pytest.raises(rules.InvalidSubmission) as refused:
        signing.endorse(petition, **endorsement_fields(website="javascript:alert(1)"))
    assert set(refused.value.problems) == {"website"}
    endorsement = signing.endorse(petition, **endorsement_fields(website="solidarite.example.org"))
    assert endorsement.website == "https://solidarite.example.org"
    assert endorsement.org_type is OrganizationType.COLLECTIVE


# --- email-validator's reasons, in the page's language ---

BAD_ADDRESSES = [
    "amina",
    "@example.org",
    "amina@",
    "amina..diallo@example.org",
    ".amina@example.org",
    "amina@-example.org",
    "amina@example",
    "amina@a.123",
    "amina@example.test",
    "amina diallo@example.org",
    "amina,diallo@example.org",
    '"amina"@example.org',
    "Amina <amina@example.org>",
    "amina@[192.0.2.1]",
    "amina＠example.org",
    "amina@" + "b" * 70 + ".org",
    "am\u200bina@example.org",
    "amina@ab--cd.org",
    "amina@xn--zz.org",
]


def validator_message(address: str) -> str:
    with pytest.raises(EmailNotValidError) as error:
        validate_email(address, check_deliverability=False)
    return str(error.value)


def error_text(page: str) -> str:
    start = page.index('<p class="error" id="email-error">')
    return page[start : page.index("</p>", start)]


@pytest.mark.parametrize("language", ["fr", "ar"])
@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_every_reason_of_the_address_validator_is_in_the_page_language(
    client, petition, address, language
):
    client.set_cookie("lang", language, domain="petitions.example.org")
    response = post(client, petition, "sign", SIGNATURE_FORM, email=address)
    assert response.status_code == 422
    shown = error_text(response.text)
    english = validator_message(address)
    assert english.rstrip(".") not in response.text
    # No sentence of English: the English page's message is not the one shown.
    client.set_cookie("lang", "en", domain="petitions.example.org")
    in_english = error_text(post(client, petition, "sign", SIGNATURE_FORM, email=address).text)
    assert shown != in_english


def test_every_reason_has_a_sentence_of_its_own(app):
    """No English reason falls through to the catch-all but the rare IDNA ones."""
    with app.test_request_context():
        catch_all = rules.email_reason(EmailNotValidError("something new"))
        for address in BAD_ADDRESSES[:-1]:
            try:
                validate_email(address, check_deliverability=False)
            except EmailNotValidError as error:
                assert rules.email_reason(error) != catch_all, address


# --- throwaway addresses ---


@pytest.mark.parametrize(
    "address", ["someone@mailinator.com", "x@10minutemail.com", "x@inbox.mailinator.com"]
)
def test_throwaway_addresses_are_refused_with_a_clear_message(client, petition, address):
    response = post(client, petition, "sign", SIGNATURE_FORM, email=address)
    assert response.status_code == 422
    domain = address.partition("@")[2]
    assert f"Addresses at {domain} disappear after a few minutes" in response.text
    assert stored(Signature) == 0
    response = post(client, petition, "endorse", ENDORSEMENT_FORM, contact_email=address)
    assert response.status_code == 422
    assert stored(Endorsement) == 0


def test_organizers_allow_and_block_domains(app, make_app, petition):
    assert rules.is_disposable("mailinator.com")
    assert not rules.is_disposable("example.org")
    other = make_app(
        DISPOSABLE_EMAIL_DOMAINS_ALLOW="mailinator.com",
        DISPOSABLE_EMAIL_DOMAINS_BLOCK="spam-example.org, other-spam.example.org",
    )
    with other.app_context():
        assert not rules.is_disposable("mailinator.com")
        assert rules.is_disposable("spam-example.org")
        assert rules.is_disposable("mx.spam-example.org")
        assert rules.is_disposable("other-spam.example.org")
        assert not rules.is_disposable("example.org")
    # A list works as well as a text.
    listed = make_app(DISPOSABLE_EMAIL_DOMAINS_BLOCK=["spam-example.org"])
    with listed.app_context():
        assert rules.is_disposable("spam-example.org")


def test_a_form_that_forgot_a_rule_still_stores_nothing(client, petition, monkeypatch):
    """The domain function checks again: a form missing a check gives a 422, not a row."""
    monkeypatch.setattr("petition.forms.fields.SignerText.__call__", lambda self, form, field: None)
    response = post(client, petition, "sign", SIGNATURE_FORM, city="evil-example.com/login")
    assert response.status_code == 422
    assert "Please do not enter a web address here." in response.text
    assert stored(Signature) == 0
