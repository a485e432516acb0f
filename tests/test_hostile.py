"""Hostile input against every form, token URL and export: never a 5xx, never half-stored,
never rendered unescaped. (The spreadsheet side of it is in test_spreadsheet.py.)"""

import io

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from petition.extensions import db
from petition.forms.signing import EndorsementForm, SignatureForm
from petition.models import Endorsement, OutgoingMail, Signature

from .test_sign_http import VALID_ENDORSEMENT, VALID_SIGNATURE

INVISIBLE = {
    "NUL": "\x00",
    "bell": "\x07",
    "escape": "\x1b",
    "delete": "\x7f",
    "C1 control": "\x9b",
    "right-to-left override": "\u202e",
    "left-to-right override": "\u202d",
    "right-to-left embedding": "\u202b",
    "pop directional formatting": "\u202c",
    "first strong isolate": "\u2068",
    "right-to-left isolate": "\u2067",
    "right-to-left mark": "\u200f",
    "arabic letter mark": "\u061c",
    "zero-width space": "\u200b",
    "word joiner": "\u2060",
    "byte-order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "private use": "\ue000",
    "interlinear annotation": "\ufff9",
}
MARKUP = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "{{ 7 * 7 }}",
    "{% raw %}x",
    "' OR 1=1 --",
    "Robert'); DROP TABLE signature;--",
]
TEXT_FIELDS = {
    "sign": ["full_name", "city", "affiliation"],
    "endorse": ["organization", "city", "contact_name", "contact_role"],
}


def rows() -> int:
    return sum(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Signature, Endorsement, OutgoingMail)
    )


def limits(form_class) -> dict[str, int]:
    """Every field's maximum length, read from its Length validator."""
    found = {}
    for name, field in form_class.__dict__.items():
        for validator in getattr(field, "kwargs", {}).get("validators", []):
            if getattr(validator, "max", -1) > 0:
                found[name] = validator.max
    return found


def submit(client, petition, form, **changes):
    valid = VALID_SIGNATURE if form == "sign" else VALID_ENDORSEMENT
    data = {k: v for k, v in {**valid, **changes}.items() if v is not None}
    return client.post(f"/p/{petition.slug}/{form}", data=data)


def assert_refused(response, *fragments):
    assert 400 <= response.status_code < 500, response.status_code
    assert "Traceback" not in response.text
    for fragment in fragments:
        assert fragment in response.text


@pytest.mark.parametrize(
    ("form", "field", "limit"),
    [("sign", f, n) for f, n in limits(SignatureForm).items()]
    + [("endorse", f, n) for f, n in limits(EndorsementForm).items()],
)
def test_every_field_over_its_limit(client, petition, form, field, limit):
    value = "https://e.org/" + "a" * limit if field == "website" else "a" * (limit + 1)
    if "email" in field:
        value = "a" * limit + "@example.org"
    response = submit(client, petition, form, **{field: value})
    assert_refused(response, "characters")
    assert rows() == 0


@pytest.mark.parametrize("form", ["sign", "endorse"])
@pytest.mark.parametrize("character", list(INVISIBLE.values()), ids=list(INVISIBLE))
def test_invisible_and_control_characters_are_refused_in_every_text_field(
    client, petition, form, character
):
    for field in TEXT_FIELDS[form]:
        response = submit(client, petition, form, **{field: f"Ami{character}na"})
        assert_refused(response, "invisible or control characters")
    assert rows() == 0


@pytest.mark.parametrize("form", ["sign", "endorse"])
@pytest.mark.parametrize("character", ["\x00", "\u202e", "\u200b", "\r\n"])
def test_control_characters_in_email_are_refused(client, petition, form, character):
    field = "email" if form == "sign" else "contact_email"
    response = submit(client, petition, form, **{field: f"ami{character}na@example.org"})
    assert_refused(response)
    assert rows() == 0


@pytest.mark.parametrize(
    "separator", ["\r\n", "\n", "\r", "\t", "\x85", "\u2028", "\u00a0", "\u3000"]
)
def test_line_breaks_and_odd_spaces_are_cleaned_by_one_rule(client, petition, separator):
    """The same rule on every database: any run of whitespace is one space."""
    response = submit(client, petition, "sign", full_name=f"Amina{separator}{separator}Diallo")
    assert response.status_code == 302
    assert db.session.scalar(select(Signature.full_name)) == "Amina Diallo"


def test_mail_header_injection_is_refused(client, petition):
    response = submit(
        client, petition, "sign", email="amina@example.org\r\nBcc: everyone@example.org"
    )
    assert_refused(response)
    assert rows() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "ZZ"),
        ("country", "FRA"),
        ("country", "fr"),
        ("country", "F"),
        ("country", "EU"),
        ("country", "<b>FR</b>"),
        ("country", "FR\x00"),
    ],
)
def test_values_outside_the_lists(client, petition, field, value):
    assert_refused(submit(client, petition, "sign", **{field: value}), "Please choose")
    assert rows() == 0


@pytest.mark.parametrize("org_type", ["cult", "NGO", "ngo ", "1", "association\x00"])
def test_organization_types_outside_the_list(client, petition, org_type):
    assert_refused(submit(client, petition, "endorse", org_type=org_type), "Please choose")
    assert rows() == 0


@pytest.mark.parametrize(
    "website",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "ftp://example.org",
        "//evil.example.org",
        "https://user:secret@example.org",
        "https://example.org@evil.example",
        "http://localhost",
        "https://",
        "https://exa mple.org",
        "mailto:jean@example.org",
    ],
)
def test_websites_other_than_http_are_refused(client, petition, website):
    assert_refused(submit(client, petition, "endorse", website=website), "web address")
    assert rows() == 0


@pytest.mark.parametrize("payload", MARKUP)
def test_markup_is_stored_as_text_and_shown_escaped_everywhere(
    client, petition, payload, mails, organizer
):
    """Printable markup is a (strange) name: kept as typed, never interpreted."""
    response = submit(client, petition, "sign", full_name=payload, city=payload)
    assert response.status_code == 302
    token = mails.links(mails[-1])[0]
    assert mails[-1].get_content_type() == "text/plain"
    client.post(f"/confirm/{token}")
    endorse = submit(client, petition, "endorse", organization=payload, contact_role=payload)
    assert endorse.status_code == 302
    client.post(f"/confirm/{mails.links(mails[-1])[0]}")

    from .conftest import ORGANIZER_PASSWORD

    client.post("/organizer/login", data={"email": organizer.email, "password": ORGANIZER_PASSWORD})
    pages = [
        client.get(f"/p/{petition.slug}").text,
        client.get(f"/p/{petition.slug}/signers").text,
        client.get(f"/confirm/{token}").text,
        client.get(f"/organizer/p/{petition.slug}").text,
    ]
    shown = str(escape(payload))
    assert shown in pages[0] and shown in pages[1]  # listed, as text
    for page in pages:
        for dangerous in ("<script>", "<img src=x", "<svg/onload"):
            assert dangerous not in page
    # "{{ 7 * 7 }}" stays as typed (shown above): no template ever evaluates input.


@pytest.mark.parametrize("form", ["sign", "endorse"])
def test_what_email_validator_quotes_back_is_shown_escaped(client, petition, form):
    """The validator's reason quotes the characters typed: they are text, never markup."""
    field = "email" if form == "sign" else "contact_email"
    response = submit(client, petition, form, **{field: "x@<img/src=x>.org"})
    assert_refused(response, "cannot contain these characters: / &lt; = &gt;")
    assert "<img" not in response.text


def test_duplicate_keys_take_the_first_value_and_never_fail(client, petition):
    body = (
        "full_name=First&full_name=Second&email=a%40example.org&email=b%40example.org"
        "&city=Calais&country=FR&country=DE&consent=y&consent=n"
    )
    response = client.post(
        f"/p/{petition.slug}/sign", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 302
    signature = db.session.execute(select(Signature)).scalar_one()
    assert (signature.full_name, signature.email, signature.country) == (
        "First",
        "a@example.org",
        "FR",
    )


def test_invalid_utf8_never_fails(client, petition):
    body = b"full_name=Am%FF%FEna&email=a%40example.org&city=Cal%C3ais&country=FR&consent=y"
    response = client.post(
        f"/p/{petition.slug}/sign", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code < 500
    assert "Traceback" not in response.text


def test_a_body_over_the_limit_is_refused_with_content_length(client, petition):
    response = submit(client, petition, "sign", full_name="x" * 200_000)
    assert response.status_code == 413
    assert "Too much data" in response.text
    assert rows() == 0


def test_a_chunked_body_over_the_limit_is_refused_not_truncated(client, petition):
    """No Content-Length: the body must not be cut at the limit and accepted."""
    body = b"full_name=Amina&email=a%40example.org&city=Calais&country=FR&consent=y&x="
    body += b"y" * 200_000
    response = client.post(
        f"/p/{petition.slug}/sign",
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert rows() == 0


def test_too_many_form_parts_are_refused(client, petition):
    data = {**VALID_SIGNATURE, **{f"extra{n}": "x" for n in range(1500)}}
    response = client.post(
        f"/p/{petition.slug}/sign", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    assert rows() == 0


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "A" * 5000,
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
        "eyJhbGciOiJub25lIn0.e30.",
        "WyJzaWduYXR1cmUiLDEsIngiXQ.AAAAAA.AAAA",
        "<script>alert(1)</script>",
        "%E2%80%AE",
    ],
)
def test_bad_tokens_get_a_clear_page(client, petition, token):
    for method in ("GET", "POST"):
        response = client.open(f"/confirm/{token}", method=method)
        assert response.status_code in (400, 404), (method, token)
        assert "<script>alert(1)" not in response.text
        response = client.open(f"/withdraw/{token}", method=method)
        assert response.status_code in (400, 404), (method, token)


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=-1", "page=abc", "page=99999999999999999999", "page=1&page=2", "page=%00"],
)
def test_bad_page_numbers(client, petition, query):
    response = client.get(f"/p/{petition.slug}/signers?{query}")
    assert response.status_code in (200, 404)


@pytest.mark.parametrize(
    "url",
    [
        "/organizer/p/{slug}/export/individuals.csv?all=<script>",
        "/organizer/p/{slug}/export/everyone.csv",
        "/organizer/p/{slug}/export/individuals.json",
        "/organizer/p/no-such-call/export/individuals.csv",
        "/organizer/p/{slug}/export/individuals.csv?all=1&all=0",
        "/organizer/endorsements/999999999999999999999/approve",
    ],
)
def test_bad_export_and_moderation_urls(logged_in, petition, url):
    response = logged_in.get(url.format(slug=petition.slug))
    assert response.status_code in (200, 404, 405)
    assert "Traceback" not in response.text
