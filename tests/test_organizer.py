"""The organizers' workspace: login, access control, moderation, CSV export."""

import csv
import io
import re

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from petition.extensions import db
from petition.models import Endorsement, EndorsementStatus, SignatureStatus

from .conftest import ORGANIZER_PASSWORD

# Reached without a login: the login page, and the invitation link (its token is the key).
PUBLIC_ORGANIZER_ENDPOINTS = {"auth.login", "auth.accept_invitation"}


def organizer_rules(app):
    """Every URL rule under /organizer, whatever its blueprint."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/organizer") and rule.endpoint not in PUBLIC_ORGANIZER_ENDPOINTS
    ]


def fill(rule, petition, endorsement_id=1):
    """A concrete URL for a rule, with real values for its arguments."""
    values = {"slug": petition.slug, "endorsement_id": endorsement_id, "signature_id": 1}
    return build(rule, values)


def build(rule, values):
    """The rule's URL with these values; other arguments get a valid value of their type."""
    values = dict(values)
    for argument in rule.arguments:
        if argument not in values:
            converter = rule._converters[argument]
            if isinstance(converter, IntegerConverter):
                values[argument] = 1
            else:
                values[argument] = next(iter(getattr(converter, "items", ["x"])))
    return rule.build(values, append_unknown=False)[1]


def test_there_are_organizer_routes_to_protect(app):
    endpoints = {rule.endpoint for rule in organizer_rules(app)}
    assert {
        "organizer.index",
        "organizer.petition",
        "organizer.review",
        "organizer.export",
        "auth.logout",
    } <= endpoints


def test_every_organizer_route_refuses_anonymous_visitors(app, client, petition, make_endorsement):
    endorsement = make_endorsement(petition, status=EndorsementStatus.AWAITING_APPROVAL)
    for rule in organizer_rules(app):
        url = fill(rule, petition, endorsement.id)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method)
            if rule.endpoint == "auth.logout":
                assert response.status_code == 302, url  # logging out nobody changes nothing
                continue
            assert response.status_code in (302, 401, 403), (method, url)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/organizer/login"), url
            assert b"jean@example.org" not in response.data
    db.session.expire_all()
    assert endorsement.status is EndorsementStatus.AWAITING_APPROVAL


def test_login_logout(client, organizer):
    response = client.post(
        "/organizer/login?next=/organizer/",
        data={"email": "Organizer@Example.org", "password": ORGANIZER_PASSWORD},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/organizer/"
    assert client.get("/organizer/").status_code == 200
    assert client.post("/organizer/logout").status_code == 302
    assert client.get("/organizer/").status_code == 302


def test_login_gives_the_same_answer_for_unknown_and_known_accounts(client, organizer):
    wrong_password = client.post(
        "/organizer/login", data={"email": organizer.email, "password": "wrong password!"}
    )
    unknown = client.post(
        "/organizer/login", data={"email": "nobody@example.org", "password": "wrong password!"}
    )
    assert wrong_password.status_code == unknown.status_code == 401
    strip = re.compile(r'name="csrf_token"[^>]*|value="[^"]*"')
    assert strip.sub("", wrong_password.text) == strip.sub("", unknown.text)
    assert "Unknown email address or wrong password." in unknown.text


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com", "/\\evil"])
def test_login_never_redirects_off_site(client, organizer, target):
    response = client.post(
        "/organizer/login",
        query_string={"next": target},
        data={"email": organizer.email, "password": ORGANIZER_PASSWORD},
    )
    assert response.headers["Location"] == "/organizer/"


def test_login_starts_a_new_session(client, organizer):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    client.post("/organizer/login", data={"email": organizer.email, "password": ORGANIZER_PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session


def test_inactive_organizer_cannot_log_in(client, organizer):
    organizer.active = False
    db.session.commit()
    response = client.post(
        "/organizer/login", data={"email": organizer.email, "password": ORGANIZER_PASSWORD}
    )
    assert response.status_code == 401


def test_organizer_pages_are_not_cached(logged_in, petition):
    for url in (
        "/organizer/",
        f"/organizer/p/{petition.slug}",
        f"/organizer/p/{petition.slug}/export/individuals.csv",
    ):
        response = logged_in.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response.headers["Cache-Control"]


def test_dashboard_shows_counts_and_endorsements_awaiting(
    logged_in, petition, make_signature, make_endorsement
):
    make_signature(petition, confirmed=True)
    make_signature(petition, email="pending@example.org")
    make_endorsement(petition, status=EndorsementStatus.AWAITING_APPROVAL)
    page = logged_in.get(f"/organizer/p/{petition.slug}").text
    assert "Collectif Solidarité" in page and "jean@example.org" in page
    assert "Approve" in page and "Reject" in page
    assert re.search(r"Counted in public</th><td>1</td>", page)
    assert re.search(r"Waiting for email confirmation</th><td>1</td>", page)


@pytest.mark.parametrize(
    ("decision", "status"),
    [("approve", EndorsementStatus.APPROVED), ("reject", EndorsementStatus.REJECTED)],
)
def test_review(logged_in, petition, make_endorsement, organizer, decision, status):
    endorsement = make_endorsement(petition, status=EndorsementStatus.AWAITING_APPROVAL)
    response = logged_in.post(f"/organizer/endorsements/{endorsement.id}/{decision}")
    assert response.status_code == 302
    db.session.expire_all()
    assert endorsement.status is status
    assert endorsement.reviewed_by_id == organizer.id


def test_unconfirmed_endorsement_cannot_be_approved(logged_in, petition, make_endorsement):
    endorsement = make_endorsement(petition)
    assert logged_in.post(f"/organizer/endorsements/{endorsement.id}/approve").status_code == 409
    assert logged_in.post("/organizer/endorsements/999/approve").status_code == 404
    db.session.expire_all()
    assert endorsement.status is EndorsementStatus.PENDING


def read_csv(response):
    assert response.data.startswith("\ufeff".encode())
    text = response.data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_export_individuals(logged_in, petition, make_signature):
    make_signature(
        petition,
        confirmed=True,
        full_name="Zoë Ünal-Þórsdóttir",
        email="zoe@example.org",
        affiliation='=HYPERLINK("evil")',
        city="+33 Calais",
        country="DE",
        wants_updates=True,
    )
    make_signature(petition, email="pending@example.org", full_name="Pending")
    response = logged_in.get(f"/organizer/p/{petition.slug}/export/individuals.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="{petition.slug}-individuals-'
    )
    header, *rows = read_csv(response)
    assert header == [
        "full_name",
        "email",
        "city",
        "country",
        "country_name",
        "affiliation",
        "show_publicly",
        "wants_updates",
        "will_attend",
        "status",
        "source",
        "language",
        "signed_at",
        "confirmed_at",
    ]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["full_name"] == "Zoë Ünal-Þórsdóttir"
    assert row["affiliation"] == '\'=HYPERLINK("evil")'
    assert row["city"] == "'+33 Calais"
    assert row["country_name"] == "Germany"
    assert row["show_publicly"] == "yes" and row["wants_updates"] == "yes"
    assert row["status"] == "confirmed"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["confirmed_at"])
    assert b"\r\n" in response.data  # RFC 4180 line ends

    everything = read_csv(
        logged_in.get(f"/organizer/p/{petition.slug}/export/individuals.csv?all=1")
    )
    status = everything[0].index("status")
    assert sorted(r[status] for r in everything[1:]) == ["confirmed", "pending"]


def test_export_organizations(logged_in, petition, make_endorsement):
    make_endorsement(petition, status=EndorsementStatus.APPROVED, contact_role="@admin")
    make_endorsement(petition, status=EndorsementStatus.REJECTED, contact_email="other@example.org")
    header, *rows = read_csv(
        logged_in.get(f"/organizer/p/{petition.slug}/export/organizations.csv")
    )
    assert header == [
        "organization",
        "org_type",
        "country",
        "country_name",
        "city",
        "website",
        "contact_name",
        "contact_email",
        "contact_role",
        "show_publicly",
        "status",
        "language",
        "endorsed_at",
        "confirmed_at",
        "approved_at",
    ]
    (row,) = rows
    row = dict(zip(header, row, strict=True))
    assert row["org_type"] == "collective" and row["status"] == "approved"
    assert row["contact_role"] == "'@admin"
    assert row["approved_at"].endswith("Z") and row["confirmed_at"].endswith("Z")
    everything = read_csv(
        logged_in.get(f"/organizer/p/{petition.slug}/export/organizations.csv?all=1")
    )
    columns = everything[0]
    rejected = [r for r in everything[1:] if r[columns.index("status")] == "rejected"]
    # Never approved: no approved_at.
    assert rejected and rejected[0][columns.index("approved_at")] == ""


def test_export_streams_in_chunks(logged_in, petition, make_signature, monkeypatch):
    from petition import export_sql
    from petition.models import Signature, utcnow

    # Smaller batches than the shipped ones, so that a few rows make several.
    monkeypatch.setattr(export_sql, "_ROWS_PER_FETCH", 500)
    monkeypatch.setattr(export_sql, "_KEYS_PER_CHUNK", 500)
    now = utcnow()
    db.session.execute(
        Signature.__table__.insert(),
        [
            {
                "petition_id": petition.id,
                "full_name": f"Signer {n}",
                "email": f"s{n}@example.org",
                "email_normalized": f"s{n}@example.org",
                "city": "Calais",
                "country": "FR",
                "show_publicly": False,
                "wants_updates": False,
                "status": "confirmed",
                "signed_at": now,
                "confirmed_at": now,
                "consent_at": now,
                "privacy_notice_version": "v",
                "token_key": f"{n:032d}",
                "mails_sent": 0,
            }
            for n in range(1200)
        ],
    )
    db.session.commit()
    response = logged_in.get(f"/organizer/p/{petition.slug}/export/individuals.csv")
    chunks = list(response.response)
    assert len(chunks) >= 3  # rows go out in chunks as they are read, not in one piece
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"), newline="")))
    assert len(rows) == 1201
    assert (
        db.session.scalar(select(Signature.status).where(Signature.full_name == "Signer 5"))
        is SignatureStatus.CONFIRMED
    )


def test_csrf_is_required_on_every_form_when_enabled(
    app, client, organizer, petition, mails, make_endorsement
):
    """With CSRF on (as in production), a POST without a valid token changes nothing."""
    from petition.models import Signature

    endorsement = make_endorsement(petition, status=EndorsementStatus.AWAITING_APPROVAL)
    app.config["WTF_CSRF_ENABLED"] = True
    from .test_sign_http import VALID_ENDORSEMENT, VALID_SIGNATURE

    response = client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE)
    assert response.status_code == 422
    assert "The form expired" in response.text
    assert 'value="Amina Diallo"' in response.text  # what was typed is kept
    response = client.post(f"/p/{petition.slug}/endorse", data=VALID_ENDORSEMENT)
    assert response.status_code == 422
    assert db.session.scalar(select(Signature.id)) is None
    assert (
        client.post(
            "/organizer/login", data={"email": organizer.email, "password": ORGANIZER_PASSWORD}
        ).status_code
        == 422
    )

    # Logged in with a real token, then a forged POST without one.
    page = client.get("/organizer/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/organizer/login",
        data={"email": organizer.email, "password": ORGANIZER_PASSWORD, "csrf_token": token},
    )
    assert client.get("/organizer/").status_code == 200
    for url in (f"/organizer/endorsements/{endorsement.id}/approve", "/organizer/logout"):
        assert client.post(url).status_code == 400
        assert client.post(url, data={"csrf_token": "forged"}).status_code == 400
    db.session.expire_all()
    assert endorsement.status is EndorsementStatus.AWAITING_APPROVAL
    assert client.get("/organizer/").status_code == 200  # still logged in

    # A token from another session is refused too.
    other = app.test_client()
    other_token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', other.get("/organizer/login").text
    ).group(1)
    response = client.post(
        f"/organizer/endorsements/{endorsement.id}/approve", data={"csrf_token": other_token}
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Endorsement, endorsement.id).status is (
        EndorsementStatus.AWAITING_APPROVAL
    )


def test_every_post_route_is_protected_by_csrf(app, client, petition, mails):
    """Enumerate every rule that takes a POST: without a token, nothing is accepted."""
    app.config["WTF_CSRF_ENABLED"] = True
    from .test_sign_http import VALID_SIGNATURE

    client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE)
    app.config["WTF_CSRF_ENABLED"] = False
    client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE)
    app.config["WTF_CSRF_ENABLED"] = True
    token = mails.links(mails[-1])[0]
    values = {
        "slug": petition.slug,
        "token": token,
        "endorsement_id": 1,
        "decision": "approve",
        "who": "individuals",
    }
    post_rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    assert len(post_rules) >= 6
    for rule in post_rules:
        url = build(rule, values)
        response = client.post(url, data={})
        assert response.status_code in (302, 400, 404, 422), url
        if response.status_code == 302:  # only the anonymous logout/organizer redirects
            assert "/organizer/login" in response.headers["Location"], url
    from petition.models import Signature

    assert db.session.scalar(select(Signature.status)) is SignatureStatus.PENDING
