"""Every page signers and organizers see, in their main states, as the test client gets them.

`visit_every_page` walks the journeys of both (the public pages, signing and endorsing with
their errors, the mailed links, the whole workspace, the error pages) and returns each page
it met: tests/test_html.py checks them with the Nu Html Checker, tests/test_static_files.py
their links to static files. The app must render CSRF tokens (WTF_CSRF_ENABLED), as in
production: the forms' hidden fields are checked too.
"""

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    ServiceUnavailable,
    TooManyRequests,
)

from petition import petitions, switches
from petition.errors import error_page
from petition.extensions import db
from petition.models import EndorsementStatus

from .conftest import ORGANIZER_PASSWORD
from .test_imports import csv_bytes, row
from .test_sign_http import VALID_ENDORSEMENT, VALID_SIGNATURE

HIDDEN_INPUT = re.compile(r"<input\b[^>]*\btype=\"hidden\"[^>]*>")
ATTRIBUTE = re.compile(r'\b(name|value)="([^"]*)"')
INVITATION_LINK = re.compile(r"/organizer/invitation/(\S+)")

# GET endpoints that answer something else than a page (data, files, redirects).
NOT_PAGES = {
    "static",
    "favicon",
    "public.healthz",
    "public.language",
    "public.petition_counts",
    "share.rally_ics",
    "share.share_png",
    "organizer.export",
    "exports.download",
    "exports.manifest_json",
    "imports.template",
}


@dataclass(frozen=True)
class Page:
    """One page as a visitor got it."""

    name: str
    url: str | None
    endpoint: str | None
    html: str


class Journey:
    """Visits pages with several visitors and keeps every page met on the way."""

    def __init__(self, app: Flask):
        self.app = app
        self.pages: list[Page] = []

    def keep(self, name: str, url: str | None, html: str) -> str:
        """Keep a page met on the way (at `url`; None for a page rendered without a request)."""
        adapter = self.app.url_map.bind("petitions.example.org")
        try:
            endpoint, _ = adapter.match(url.split("?")[0]) if url else (None, None)
        except HTTPException:  # an error page
            endpoint = None
        self.pages.append(Page(name, url, endpoint, html))
        return html

    def get(self, client: FlaskClient, url: str, name: str, status: int = 200) -> str:
        """GET a page, check its status and keep it."""
        response = client.get(url)
        assert response.status_code == status, (name, url, response.status_code)
        return self.keep(name, url, response.text)

    def submit(
        self,
        client: FlaskClient,
        url: str,
        name: str | None = None,
        status: int = 302,
        data: dict | None = None,
        **kwargs,
    ):
        """POST the form at `url` as a browser would (with its hidden fields); keep the page
        answered when it has a name."""
        form = hidden_fields(client.get(url).text)
        response = client.post(url, data={**form, **(data or {})}, **kwargs)
        assert response.status_code == status, (name, url, response.status_code)
        if name is not None:
            self.keep(name, url, response.text)
        return response


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden fields of a page's forms (its CSRF token, the signing form's timestamp)."""
    fields = {}
    for tag in HIDDEN_INPUT.findall(html):
        attributes = dict(ATTRIBUTE.findall(tag))
        if "name" in attributes:
            fields[attributes["name"]] = attributes.get("value", "")
    return fields


def visit_every_page(
    app: Flask, make_petition, make_signature, make_endorsement, make_organizer, organizer, mails
):
    """Walk every journey and return the pages met."""
    journey = Journey(app)
    call = make_petition(
        slug="open-the-borders", signature_goal=1000, closes_at=datetime(2031, 1, 1, tzinfo=UTC)
    )
    petitions.write_translation(
        call,
        petitions.TranslationContent(
            language="fr",
            title="Ouvrir les frontières",
            summary="Un appel pour la liberté de circulation.",
            body="Nous appelons à la **liberté de circulation**.",
            demands=["Des papiers pour tous", "Fermer les camps"],
        ),
    )
    closed = make_petition(slug="closed-call")
    for n, name in enumerate(["Amina Diallo", "يوسف الحسن", "Jean Martin"]):
        make_signature(call, confirmed=True, full_name=name, email=f"listed{n}@example.org")
    make_signature(closed, confirmed=True, email="closed@example.org")
    petitions.close_call(closed)
    make_endorsement(call, status=EndorsementStatus.APPROVED, contact_email="approved@example.org")
    make_endorsement(
        call,
        status=EndorsementStatus.AWAITING_APPROVAL,
        organization="Union des sans-papiers",
        contact_email="union@example.org",
    )
    make_endorsement(
        call,
        status=EndorsementStatus.AWAITING_APPROVAL,
        organization="Syndicat solidaire",
        contact_email="syndicat@example.org",
    )
    db.session.commit()

    _public_pages(journey, app.test_client(), call, closed)
    _signer_pages(journey, app.test_client(), call, mails)
    for language in ("fr", "ar"):
        _pages_in(journey, app.test_client(), call, language)
    owner = app.test_client()
    _log_in(journey, owner, organizer)
    _workspace_pages(journey, owner, call, closed, mails)
    _error_pages(journey, app, app.test_client(), make_organizer, call)
    missed = _page_endpoints(app) - {page.endpoint for page in journey.pages}
    assert not missed, f"pages no journey visits: {sorted(missed)}"
    return journey.pages


def _page_endpoints(app: Flask) -> set[str]:
    """Every endpoint that answers a GET with a page: a new one must join a journey."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and rule.endpoint not in NOT_PAGES
        and not rule.endpoint.startswith("api.")
    }


def _public_pages(journey, client, call, closed):
    slug = call.slug
    journey.get(client, "/", "the open calls")
    journey.get(client, f"/p/{slug}", "a call")
    journey.get(client, f"/p/{slug}?lang=fr", "a call in its French translation")
    journey.get(client, f"/p/{slug}/signers", "the signers")
    journey.get(client, f"/p/{slug}/organizations", "the organizations")
    journey.get(client, f"/p/{slug}/embed", "the embedded counter")
    journey.get(client, "/privacy", "the privacy notice")
    journey.get(client, f"/p/{closed.slug}", "a closed call")
    journey.get(client, f"/p/{closed.slug}/sign", "the sign form of a closed call")
    switches.pause_signing("Back in an hour.")
    db.session.commit()
    journey.get(client, f"/p/{slug}", "a call while signing is paused")
    journey.get(client, f"/p/{slug}/sign", "the sign form while signing is paused")
    switches.resume_signing()
    db.session.commit()


def _signer_pages(journey, client, call, mails):
    slug = call.slug
    journey.get(client, f"/p/{slug}/sign", "the sign form")
    journey.submit(client, f"/p/{slug}/sign", "the sign form with errors", 422)
    journey.submit(client, f"/p/{slug}/sign", data=VALID_SIGNATURE)
    journey.get(client, f"/p/{slug}/check-your-email", "check your email")
    journey.get(client, f"/p/{slug}/endorse", "the endorsement form")
    journey.submit(client, f"/p/{slug}/endorse", "the endorsement form with errors", 422)
    journey.submit(client, f"/p/{slug}/endorse", data=VALID_ENDORSEMENT)

    (message,) = mails.to(VALID_SIGNATURE["email"])
    (confirm,) = mails.links(message, "confirm")
    (withdraw,) = mails.links(message, "withdraw")
    page = journey.get(client, f"/confirm/{confirm}", "confirm a signature")
    corrected = {"full_name": "see evil-example.com", "city": "Calais", "country": "FR"}
    response = client.post(
        f"/confirm/{confirm}/details", data={**hidden_fields(page), **corrected, "consent": "y"}
    )
    assert response.status_code == 422 and "web address" in response.text
    journey.keep("confirm a signature, corrected with errors", f"/confirm/{confirm}", response.text)
    journey.submit(client, f"/confirm/{confirm}")
    journey.get(client, f"/p/{slug}", "a call with the signer's confirmation")
    (message,) = mails.to(VALID_ENDORSEMENT["contact_email"])
    (token,) = mails.links(message, "confirm")
    journey.get(client, f"/confirm/{token}", "confirm an endorsement")
    journey.get(client, f"/withdraw/{withdraw}", "withdraw a signature")
    journey.submit(client, f"/withdraw/{withdraw}")
    journey.get(client, f"/p/{slug}", "a call after a withdrawal")
    journey.get(client, f"/confirm/{confirm}", "a link to a withdrawn signature", 404)
    journey.get(client, "/withdraw/not-a-token", "a forged link", 404)


def _pages_in(journey, client, call, language):
    client.set_cookie("lang", language, domain="petitions.example.org")
    slug = call.slug
    journey.get(client, "/", f"the open calls ({language})")
    journey.get(client, f"/p/{slug}", f"a call ({language})")
    journey.get(client, f"/p/{slug}/embed", f"the embedded counter ({language})")
    journey.submit(client, f"/p/{slug}/sign", f"the sign form with errors ({language})", 422)
    journey.submit(client, f"/p/{slug}/endorse", f"the endorsement form ({language})", 422)
    journey.get(client, "/privacy", f"the privacy notice ({language})")


def _log_in(journey, client, organizer, pages=True):
    if pages:
        journey.get(client, "/organizer/login", "the login form")
        journey.submit(
            client,
            "/organizer/login",
            "a failed login",
            401,
            data={"email": organizer.email, "password": "wrong"},
        )
    journey.submit(
        client,
        "/organizer/login",
        data={"email": organizer.email, "password": ORGANIZER_PASSWORD},
    )


def _workspace_pages(journey, client, call, closed, mails):
    slug = call.slug
    call_url = f"/organizer/p/{slug}"
    journey.get(client, "/organizer/", "the workspace")
    journey.get(client, call_url, "a call's workspace, endorsements to review")
    journey.get(client, f"/organizer/p/{closed.slug}", "a closed call's workspace")

    journey.get(client, "/organizer/calls/new", "a new call")
    journey.submit(client, "/organizer/calls/new", "a new call with errors", 422)
    journey.submit(
        client,
        "/organizer/calls/new",
        "a new call's preview, with errors",
        422,
        data={"title": "Papers", "body": "**Papers** for all", "preview": "Preview"},
    )
    journey.get(client, f"{call_url}/edit", "the call editor")
    # What no form of a current browser sends, but an older one or a hand can.
    hostile = {"timezone": "", "signature_goal": "many", "event_starts_at": "next tuesday"}
    journey.submit(
        client,
        f"{call_url}/edit",
        "the call editor with errors",
        422,
        data={**hostile, "closes_at": "2030-13-01T10:00", "save": "Save"},
    )
    journey.get(client, f"{call_url}/translations/new", "a new translation")
    journey.submit(
        client,
        f"{call_url}/translations/new",
        "a new translation with errors",
        422,
        data={"save": "Save the translation"},
    )
    journey.get(client, f"{call_url}/translations/fr", "a translation")

    journey.get(client, f"{call_url}/signatures", "the signatures")
    found = journey.get(client, f"{call_url}/signatures?name=amina", "signatures found")
    signature = re.search(r'href="(/organizer/signatures/\d+)"', found).group(1)
    journey.get(client, f"{call_url}/signatures?signed_from=yesterday", "a search with errors", 422)
    journey.get(client, signature, "a signature")
    journey.get(client, f"{call_url}/signatures?origin=1", "signatures from the same origin")
    journey.get(client, f"{call_url}/endorsements", "the endorsements")
    journey.get(client, f"{call_url}/campaign", "the campaign")

    journey.get(client, f"{call_url}/exports", "the exports")
    journey.get(
        client, f"{call_url}/exports/download?who=all&since=May", "an export with errors", 422
    )
    assert client.get(f"{call_url}/exports/download?who=individuals").status_code == 200
    exports = journey.get(client, f"{call_url}/exports", "the exports, one done")
    manifest = re.search(r'href="(/organizer/exports/\d+)"', exports).group(1)
    journey.get(client, manifest, "an export's manifest")
    journey.get(client, f"{call_url}/handover", "the hand-over list")

    journey.get(client, f"{call_url}/import", "the import form")
    journey.submit(
        client, f"{call_url}/import", "an import without a file", 422, data={"store": "Import"}
    )
    bad_file = csv_bytes([row(email="paper@example.org"), row(country="Atlantis")])
    journey.submit(
        client,
        f"{call_url}/import",
        "an import's rejected rows",
        422,
        data={
            "file": (io.BytesIO(bad_file), "signatures.csv"),
            "source": "paper",
            "store": "Import",
        },
        content_type="multipart/form-data",
    )
    good_file = csv_bytes([row(email="paper@example.org")])
    journey.submit(
        client,
        f"{call_url}/import",
        "an import checked",
        200,
        data={
            "file": (io.BytesIO(good_file), "signatures.csv"),
            "source": "paper",
            "check": "Check only",
        },
        content_type="multipart/form-data",
    )

    journey.submit(
        client,
        "/organizer/accounts",
        data={"email": "new.organizer@example.org", "role": "organizer", "calls": [call.id]},
    )
    accounts = journey.get(client, "/organizer/accounts", "the accounts")
    journey.submit(client, "/organizer/accounts", "an invitation with errors", 422)
    account = re.search(r'href="(/organizer/accounts/\d+)"', accounts).group(1)
    journey.get(client, account, "an account")
    journey.get(client, "/organizer/password", "the password form")
    journey.submit(client, "/organizer/password", "the password form with errors", 422)
    journey.get(client, "/organizer/audit", "the audit log")

    invited = client.application.test_client()
    (message,) = mails.to("new.organizer@example.org")
    token = INVITATION_LINK.search(message.get_content()).group(1)
    journey.get(invited, f"/organizer/invitation/{token}", "an invitation")
    journey.submit(invited, f"/organizer/invitation/{token}", "an invitation with errors", 422)
    journey.get(invited, "/organizer/invitation/not-a-token", "a bad invitation", 404)


def _error_pages(journey, app, visitor, make_organizer, call):
    journey.get(visitor, "/p/no-such-call", "page not found", 404)
    helper = make_organizer("helper@example.org", petitions=[call])
    _log_in(journey, helper_client := app.test_client(), helper, pages=False)
    journey.get(helper_client, "/organizer/accounts", "not allowed", 403)
    response = helper_client.post("/organizer/logout")
    assert response.status_code == 400
    journey.keep("a form without its CSRF token", "/organizer/logout", response.text)
    response = visitor.post("/privacy")
    assert response.status_code == 405
    journey.keep("a method not allowed", "/privacy", response.text)
    response = visitor.post(f"/p/{call.slug}/sign", data={"full_name": "x" * 100_000})
    assert response.status_code == 413
    journey.keep("too much data", f"/p/{call.slug}/sign", response.text)
    for error in (TooManyRequests(), InternalServerError(), ServiceUnavailable()):
        with app.test_request_context("/"):
            html = error_page(error)[0]
        journey.keep(f"error {error.code}", None, html)
