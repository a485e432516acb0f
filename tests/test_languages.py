"""Languages: the catalogues, choosing a language, French formats, right-to-left Arabic, mails."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from flask import render_template_string
from sqlalchemy import select

from petition import signing
from petition.extensions import db
from petition.models import Signature

from .test_sign_http import VALID_SIGNATURE, sign

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "petition" / "translations"
# The same keywords as the Makefile's `messages` target.
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext", "-k", "ngettext:1,2"]
# The signing path: every string of these files must be in Arabic.
SIGNING_PATH = [
    "templates/base.html",
    "templates/_counts.html",
    "templates/_forms.html",
    "templates/public/petition.html",
    "templates/public/_event.html",
    "templates/public/privacy.html",
    "templates/sign/_consent.html",
    "templates/sign/_refusal.html",
    "templates/sign/bad_link.html",
    "templates/sign/check_email.html",
    "templates/sign/confirm.html",
    "templates/sign/endorse.html",
    "templates/sign/sign.html",
    "templates/sign/withdraw.html",
    "templates/email/signature_confirm.txt",
    "templates/email/signature_already_signed.txt",
    "templates/email/endorsement_confirm.txt",
    "templates/email/endorsement_already_signed.txt",
    "petition/views/sign.py",
]
# The signing forms' labels and errors (forms.py also holds the organizers' forms).
SIGNING_FORM_TEXT = [
    "Full name",
    "Email",
    "We send you a link to confirm. It is never shown in public.",
    "City",
    "Country",
    "Choose a country",
    "Please choose a country.",
    "Affiliation or occupation (optional)",
    "Show my name, city and country in the public list",
    "Send me news about this call",
    "I have read the privacy notice and agree that my signature is stored for this call.",
    "We can only record your signature with your consent.",
    "This field is required.",
    "At most %(max)d characters, please.",
    "An email address has an @, as in name@example.org.",
    "Something is missing before the @.",
    "Something is missing after the @.",
    "Please type the @ on an ordinary keyboard layout.",
    "After the @ comes a domain such as example.org.",
    "This email address has a dot in the wrong place.",
    "This email address has a hyphen in the wrong place.",
    "The part after the @ cannot receive email.",
    "This email address is too long.",
    "Please type only the address itself, such as name@example.org.",
    "The domain after the @ does not exist: check for a typo.",
    "The domain after the @ does not receive email: check for a typo.",
    "We could not check the domain after the @: try again later.",
    "This email address cannot contain these characters: %(characters)s",
    "This email address contains a space, an invisible or an unusual character.",
    "This email address is not valid: please check it.",
    "Addresses at %(domain)s disappear after a few minutes: please use an address you keep, "
    "so that you can confirm, and withdraw whenever you like.",
    "Please do not enter a web address here.",
    "Please remove the invisible or control characters.",
    "Organization",
    "Type of organization",
    "Choose a type",
    "Please choose a type.",
    "Website (optional)",
    "Your name",
    "Your email",
    "Your role in the organization",
    "Show the organization in the public list",
    "I am authorized to endorse this call on behalf of the organization.",
    "Only someone authorized by the organization can endorse.",
    "Enter a web address such as https://example.org.",
    "Please correct the following:",
]
NNBSP = "\u202f"  # narrow no-break space: French thousands separator


def catalogue(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as file:
        return read_po(file, locale=language)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """What the code and templates say today, extracted as the Makefile does."""
    pot = tmp_path_factory.mktemp("messages") / "messages.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), *KEYWORDS, "-o", str(pot)]
        + [str(ROOT)]
    )
    with open(pot, "rb") as file:
        return read_po(file)


def relative(path: str) -> str:
    return Path(path).resolve().relative_to(ROOT).as_posix() if Path(path).is_absolute() else path


def ids(catalog) -> set:
    return {message.id for message in catalog if message.id}


# -- the catalogues ---------------------------------------------------------------------


def test_the_french_catalogue_is_complete_and_checked():
    french = catalogue("fr")
    untranslated = [
        m.id for m in french if m.id and (not m.string or (m.pluralizable and not all(m.string)))
    ]
    fuzzy = [m.id for m in french if m.id and m.fuzzy]
    assert untranslated == [], "translate these in petition/translations/fr (make messages)"
    assert fuzzy == [], "review these fuzzy French entries"
    # Placeholders: a translation that drops or misspells one would fail at render time.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in french.check()]
    assert problems == []


def test_the_catalogues_are_up_to_date_with_the_code(extracted):
    current = ids(extracted)
    for language in ("fr", "ar"):
        known = ids(catalogue(language))
        assert current - known == set(), f"new text not in {language}: run `make messages`"
        assert known - current == set(), f"obsolete entries in {language}: run `make messages`"


def test_the_arabic_catalogue_covers_the_signing_path(extracted):
    arabic = {m.id: m for m in catalogue("ar") if m.id}
    on_the_path = {
        m.id
        for m in extracted
        if m.id and any(relative(path) in SIGNING_PATH for path, _line in m.locations)
    }
    on_the_path |= set(SIGNING_FORM_TEXT)
    assert len(on_the_path) > 100
    missing = sorted(
        str(key)
        for key in on_the_path
        if key not in arabic
        or arabic[key].fuzzy
        or not (all(arabic[key].string) if arabic[key].pluralizable else arabic[key].string)
    )
    assert missing == []
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue("ar").check()]
    assert problems == []


def test_the_compiled_catalogues_are_not_older_than_their_sources():
    for language in ("fr", "ar"):
        folder = TRANSLATIONS / language / "LC_MESSAGES"
        compiled = folder / "messages.mo"
        assert compiled.exists(), "run `make translations`"
        assert compiled.stat().st_mtime >= (folder / "messages.po").stat().st_mtime, (
            "run `make translations`"
        )


# -- choosing the language ----------------------------------------------------------------


def html_lang(page: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', page)
    assert match, "no <html lang dir>"
    return match.group(1), match.group(2)


@pytest.mark.parametrize(
    ("accept", "lang", "text"),
    [
        (None, "en", "Sign as an individual"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "fr", "Signer à titre individuel"),
        ("de-DE,ar;q=0.8,fr;q=0.5", "ar", "وقّع بصفتك الشخصية"),
        ("de-DE,de;q=0.9", "en", "Sign as an individual"),
    ],
)
def test_the_language_follows_accept_language(client, petition, accept, lang, text):
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get(f"/p/{petition.slug}", headers=headers)
    assert response.status_code == 200
    assert html_lang(response.text)[0] == lang
    assert text in response.text
    assert {"Accept-Language", "Cookie"} <= set(response.vary)
    assert "Set-Cookie" not in response.headers


def test_the_switcher_is_on_every_page(client, petition):
    for url in ("/", f"/p/{petition.slug}", f"/p/{petition.slug}/sign", "/privacy", "/nowhere"):
        page = client.get(url).text
        for code, name in (("en", "English"), ("fr", "Français"), ("ar", "العربية")):
            assert f'lang="{code}" hreflang="{code}"' in page, url
            assert f">{name}</a>" in page, url


def test_switching_sets_a_cookie_for_a_year_and_goes_back(client, petition):
    page = f"/p/{petition.slug}/sign"
    response = client.get(f"/language/fr?next={page}")
    assert response.status_code == 302
    assert response.location == page
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=fr;")
    assert "Max-Age=31536000" in cookie
    assert "SameSite=Lax" in cookie
    assert "HttpOnly" in cookie
    assert "no-store" in response.headers["Cache-Control"]

    # The choice wins over the browser's languages, and pages do not set cookies again.
    answer = client.get(page, headers={"Accept-Language": "ar"})
    assert html_lang(answer.text) == ("fr", "ltr")
    assert "Signer l'appel" in answer.text
    assert "Set-Cookie" not in answer.headers

    client.get("/language/en")
    assert html_lang(client.get(page, headers={"Accept-Language": "fr"}).text)[0] == "en"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/p", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_switching_never_sends_the_visitor_off_site(client, target):
    response = client.get("/language/ar", query_string={"next": target})
    assert response.status_code == 302
    assert response.location == "/"


def test_a_mailed_token_never_goes_into_the_switchers_links(client, petition, mails):
    sign(client, petition)
    (token,) = mails.links(mails.to("amina@example.org")[0])
    page = client.get(f"/confirm/{token}").text
    assert "Confirm my signature" in page
    links = re.findall(r'href="(/language/[^"]*)"', page)
    assert len(links) == 3
    assert all(token not in link and "next" not in link for link in links)
    # The switcher then goes back to the page through the Referer, on this site only.
    confirm_url = f"http://petitions.example.org/confirm/{token}"
    back = client.get("/language/fr", headers={"Referer": confirm_url})
    assert back.location == confirm_url
    assert "Confirmer ma signature" in client.get(f"/confirm/{token}").text
    elsewhere = client.get("/language/fr", headers={"Referer": "https://evil.example/x"})
    assert elsewhere.location == "/"


def test_an_unknown_language_is_not_found(client):
    response = client.get("/language/de?next=/")
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers


def test_a_forged_cookie_falls_back_to_the_browser(client, petition):
    client.set_cookie("lang", "xx", domain="petitions.example.org")
    page = client.get(f"/p/{petition.slug}", headers={"Accept-Language": "fr"}).text
    assert html_lang(page)[0] == "fr"


# -- French --------------------------------------------------------------------------------


def test_the_call_page_in_french(client, make_petition, make_signature):
    petition = make_petition(signature_goal=12345, closes_at=datetime(2030, 10, 14, 20, tzinfo=UTC))
    make_signature(petition, confirmed=True)
    page = client.get(f"/p/{petition.slug}", headers={"Accept-Language": "fr"}).text
    assert "1 personne a signé" in page
    assert f"Objectif\u00a0: 12{NNBSP}345 signatures" in page
    # The rally, in its own time zone (Paris, 16:00) and French words.
    assert "lundi 14 octobre 2030" in page
    assert "Rassemblement" in page
    assert "Ouvert aux signatures jusqu’au" in page or "Ouvert aux signatures jusqu'au" in page
    assert "14 octobre 2030" in page
    assert "Sign as an individual" not in page


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [
        ("fr", 1, "1 personne a signé"),
        ("fr", 1234, f"1{NNBSP}234 personnes ont signé"),
        ("en", 1234, "1,234 people have signed"),
        ("ar", 2, "وقّع شخصان"),
        ("ar", 5, "وقّع 5 أشخاص"),
        ("ar", 11, "وقّع 11 شخصًا"),
    ],
)
def test_counts_are_worded_and_formatted_for_the_language(app, language, count, expected):
    template = '{% import "_counts.html" as c %}{{ c.people(n) }}'
    with app.test_request_context(headers={"Accept-Language": language}):
        assert render_template_string(template, n=count) == expected


def test_countries_are_named_and_sorted_in_french(client, petition):
    french = client.get(f"/p/{petition.slug}/sign", headers={"Accept-Language": "fr"}).text
    assert (
        french.index(">Afrique du Sud<") < french.index(">Albanie<") < french.index(">Allemagne<")
    )
    assert ">Égypte<" in french and french.index(">Égypte<") < french.index(">Espagne<")
    english = client.get(f"/p/{petition.slug}/sign").text
    assert english.index(">Albania<") < english.index(">South Africa<")


def test_form_errors_in_french(client, petition):
    response = client.post(
        f"/p/{petition.slug}/sign",
        data={**VALID_SIGNATURE, "country": "", "consent": ""},
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 422
    assert "Veuillez choisir un pays." in response.text
    assert "Nous ne pouvons enregistrer votre signature qu" in response.text


def test_a_french_signer_gets_a_french_mail(client, petition, mails):
    response = client.post(
        f"/p/{petition.slug}/sign", data=VALID_SIGNATURE, headers={"Accept-Language": "fr"}
    )
    assert response.status_code == 302
    signature = db.session.execute(select(Signature)).scalar_one()
    assert signature.locale == "fr"
    (message,) = mails.to("amina@example.org")
    assert message["Subject"] == "Veuillez confirmer votre signature\u00a0: Open the borders"
    body = message.get_content()
    assert "Bonjour Amina Diallo," in body
    assert "Merci d'avoir signé l'appel «\u00a0Open the borders\u00a0»." in body

    # Signing again from an English browser: a new submission, answered in its own language
    # (the person who just sent the form reads the mail; its link confirms their details).
    sign(client, petition)
    assert mails.to("amina@example.org")[-1]["Subject"].startswith("Please confirm")
    signing.confirm(signature)  # the first link: the French signer's details and language
    db.session.commit()
    sign(client, petition)  # once confirmed, the notice keeps the signer's language
    assert mails.to("amina@example.org")[-1]["Subject"].startswith("Vous avez déjà signé")


def test_an_english_signer_gets_an_english_mail(client, petition, mails):
    sign(client, petition)
    (message,) = mails.to("amina@example.org")
    assert message["Subject"] == "Please confirm your signature: Open the borders"


# -- Arabic --------------------------------------------------------------------------------


def test_arabic_pages_are_right_to_left(client, petition):
    for url in (f"/p/{petition.slug}", f"/p/{petition.slug}/sign", f"/p/{petition.slug}/endorse"):
        response = client.get(url, headers={"Accept-Language": "ar"})
        assert html_lang(response.text) == ("ar", "rtl"), url
    page = client.get(f"/p/{petition.slug}/sign", headers={"Accept-Language": "ar"}).text
    for english in ("Full name", "City", "Choose a country", "Sign the call", "Your choices"):
        assert f">{english}" not in page, english
    assert "الاسم الكامل" in page


def test_the_arabic_signing_path_end_to_end(client, petition, mails):
    arabic = {"Accept-Language": "ar"}
    refused = client.post(
        f"/p/{petition.slug}/sign", data={**VALID_SIGNATURE, "full_name": ""}, headers=arabic
    )
    assert refused.status_code == 422
    assert "هذا الحقل مطلوب." in refused.text
    response = client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE, headers=arabic)
    checked = client.get(response.location, headers=arabic).text
    assert "تحقّق من بريدك الإلكتروني" in checked
    (message,) = mails.to("amina@example.org")
    assert message["Subject"] == "يُرجى تأكيد توقيعك: Open the borders"
    (token,) = mails.links(message)
    confirm = client.get(f"/confirm/{token}", headers=arabic).text
    assert html_lang(confirm) == ("ar", "rtl")
    assert "تأكيد توقيعي" in confirm
