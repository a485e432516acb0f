"""The public, read-only JSON API: calls, counts, approved organizations, public signers.

It shows exactly what the public pages show, as JSON: never an email address or a signer
who did not choose to be shown; the only ids are those of listed signers, in the links to
the pages around a page of signers. petition/openapi.py describes every route here.
"""

import re

from flask import Blueprint, current_app, jsonify, request, url_for
from flask.globals import request_ctx
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import Endorsement, Petition, PetitionStatus
from ..openapi import CACHE_SECONDS, openapi_description
from ..petitions import SLUG_PATTERN, CallText, call_text, call_texts, without_foreign_images
from ..queries import (
    all_petitions,
    cached,
    confirmed_by_country,
    open_petitions,
    petition_by_slug,
    public_counts,
    public_organizations,
    public_signers_page,
)
from ..signing import accepts_signatures
from . import MAX_PAGE, neighbour_ids

bp = Blueprint("api", __name__, url_prefix="/api/v1")

CACHE_CONTROL = f"public, max-age={CACHE_SECONDS}, stale-while-revalidate=300"
STATUSES = ("open", "closed", "all")
PAGE = re.compile(r"[0-9]{1,7}")
LANGUAGE = re.compile(r"[a-z]{2,3}")


class ApiError(Exception):
    """A request the API answers with a JSON error."""

    def __init__(self, status: int, error: str, message: str):
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    """{"error": ..., "message": ...} with the error's status."""
    response = jsonify(error=error.error, message=error.message)
    response.status_code = error.status
    response.vary.add("Accept-Language")  # the message is translated
    return response


@bp.before_request
def no_session():
    """The API is the same for everyone: no session is read or written, so no cookie is set
    and shared caches need not key on the Cookie header."""
    # Flask-Login reads the session after every request, which would add "Vary: Cookie";
    # a null session (the one Flask itself uses without a secret key) is never saved.
    request_ctx._session = current_app.session_interface.make_null_session(current_app)


@bp.after_request
def public_headers(response):
    """Any site may read the API, and caches may share it for a little while."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def _not_found() -> ApiError:
    return ApiError(404, "not_found", _("There is no such call."))


def _petition(slug: str) -> Petition:
    """The call with this slug, or a JSON 404 (a malformed slug never reaches the database)."""
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise _not_found()
    petition = db.session.execute(petition_by_slug(slug)).scalar_one_or_none()
    if petition is None:
        raise _not_found()
    return petition


def _page() -> int:
    """The ?page= of a list: 1 to a million, else a JSON 400."""
    raw = request.args.get("page", "1")
    if not PAGE.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise ApiError(
            400, "bad_request", _("page must be a whole number from 1 to %(max)d.", max=MAX_PAGE)
        )
    return int(raw)


def _languages() -> list[str]:
    """The languages the reader asks for, best first: ?lang=, then Accept-Language (not the
    interface's cookie: the API's answers vary on the header alone)."""
    asked = request.args.get("lang")
    if asked is not None and not LANGUAGE.fullmatch(asked):
        raise ApiError(
            400, "bad_request", _("lang must be a language code such as fr or ar, in lower case.")
        )
    return [asked, *(tag for tag, _quality in request.accept_languages)]


def _in_language(response):
    """The call's words follow the Accept-Language header: shared caches must key on it."""
    response.vary.add("Accept-Language")
    return response


def _call(petition: Petition, text: CallText) -> dict:
    """What the list of calls says about one call, in the language of `text`."""
    counts = public_counts(petition)
    event = None
    if petition.event_starts_at is not None:
        event = {
            "starts_at": petition.event_local_start.isoformat(),
            "timezone": petition.event_timezone,
            "place": petition.event_place,
            "address": petition.event_address,
        }
    return {
        "slug": petition.slug,
        "language": text.language,
        "languages": list(text.languages),
        "title": text.title,
        "summary": text.summary,
        "status": petition.status.value,
        "accepts_signatures": accepts_signatures(petition),
        "closes_at": petition.closes_at.isoformat() if petition.closes_at else None,
        "signature_goal": petition.signature_goal,
        "event": event,
        "counts": {"individuals": counts.individuals, "organizations": counts.organizations},
        "urls": {
            "page": url_for("public.petition", slug=petition.slug, _external=True),
            "sign": url_for("sign.sign", slug=petition.slug, _external=True),
            "api": url_for("api.call", slug=petition.slug, _external=True),
        },
    }


def _paginated(query, endpoint: str, petition: Petition, item) -> dict:
    """A page of a public list, with the link to the next page (null on the last)."""
    number = _page()
    per_page = current_app.config["PUBLIC_SIGNERS_PER_PAGE"]
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.limit(per_page).offset((number - 1) * per_page)).all()
    has_next = number * per_page < total and number < MAX_PAGE
    return {
        "page": number,
        "per_page": per_page,
        "total": total,
        "next": url_for(endpoint, slug=petition.slug, page=number + 1, _external=True)
        if has_next
        else None,
        "items": [item(row) for row in rows],
    }


@bp.get("/calls")
def calls():
    """Open calls, newest first; ?status=closed or all for the others."""
    status = request.args.get("status", "open")
    if status not in STATUSES:
        raise ApiError(400, "bad_request", _("status must be open, closed or all."))
    if status == "open":
        query = open_petitions()
    elif status == "closed":
        query = all_petitions().where(Petition.status == PetitionStatus.CLOSED)
    else:
        query = all_petitions()
    petitions = db.session.execute(query).scalars().all()
    texts = call_texts(petitions, *_languages())
    return _in_language(
        jsonify(calls=[_call(petition, texts[petition.id]) for petition in petitions])
    )


@bp.get("/calls/<slug>")
def call(slug: str):
    """One call, with its text (Markdown) and its demands, in the language asked for if the
    call exists in it (an untranslated demand in the call's own language)."""
    petition = _petition(slug)
    text = call_text(petition, *_languages())
    return _in_language(
        jsonify(
            {
                **_call(petition, text),
                # Other sites render this: no image of a third site loads from it.
                "body": without_foreign_images(text.markdown),
                "demands": [without_foreign_images(demand) for demand in text.demands],
            }
        )
    )


@bp.get("/calls/<slug>/countries")
def countries(slug: str):
    """Confirmed signatures by country code, most first; countries with fewer than
    PUBLIC_COUNTRY_MINIMUM signatures only in `other`."""
    petition = _petition(slug)
    # A GROUP BY over every confirmed signature (0.7 s at a million on SQLite): read
    # once per CACHE_SECONDS per process, as long as the answer says any cache may keep it.
    rows = cached(
        ("countries", petition.id),
        CACHE_SECONDS,
        lambda: [tuple(row) for row in db.session.execute(confirmed_by_country(petition))],
    )
    # A country with a handful of signers points at them, listed or not: grouped instead.
    minimum = current_app.config["PUBLIC_COUNTRY_MINIMUM"]
    shown = [(country, number) for country, number in rows if number >= minimum]
    return jsonify(
        slug=petition.slug,
        countries=[{"country": country, "signatures": number} for country, number in shown],
        other=sum(number for _country, number in rows if number < minimum),
        minimum=minimum,
    )


@bp.get("/calls/<slug>/organizations")
def organizations(slug: str):
    """Approved organizations that chose to be shown, by name, a page at a time."""
    petition = _petition(slug)
    query = public_organizations(petition).with_only_columns(
        Endorsement.organization,
        Endorsement.org_type,
        Endorsement.city,
        Endorsement.country,
        Endorsement.website,
    )
    return jsonify(_paginated(query, "api.organizations", petition, _organization))


def _organization(row) -> dict:
    return {
        "name": row.organization,
        "type": row.org_type.value,
        "city": row.city,
        "country": row.country,
        "website": row.website,
    }


@bp.get("/calls/<slug>/signers")
def signers(slug: str):
    """Confirmed individuals who chose to be shown, latest first: what /p/<slug>/signers shows.

    Paged from the signers beside a page (?before= / ?after=, the links `next` and
    `previous`), not by page numbers: any page costs what the first costs.
    """
    petition = _petition(slug)
    before, after = _neighbours()
    per_page = current_app.config["PUBLIC_SIGNERS_PER_PAGE"]
    page = public_signers_page(petition, per_page, before=before, after=after)

    def link(**neighbour) -> str:
        return url_for("api.signers", slug=petition.slug, **neighbour, _external=True)

    return jsonify(
        {
            "per_page": per_page,
            "previous": link(after=page.newer) if page.newer is not None else None,
            "next": link(before=page.older) if page.older is not None else None,
            "items": [
                {"full_name": row.full_name, "city": row.city, "country": row.country}
                for row in page.items
            ],
        }
    )


def _neighbours() -> tuple[int | None, int | None]:
    """?before= or ?after= of the signers list, or a JSON 400 (it has no page numbers)."""
    if "page" in request.args:
        raise ApiError(400, "bad_request", _("This list has no page numbers: follow next."))
    try:
        return neighbour_ids()
    except ValueError:
        raise ApiError(
            400, "bad_request", _("before or after must be the id of a listed signer, not both.")
        ) from None


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI description of this API."""
    return jsonify(openapi_description())


@bp.get("/<path:unknown>")
def not_found(unknown: str):
    """Any other address under the API: a JSON 404, not the HTML page."""
    raise ApiError(404, "not_found", _("There is nothing at this address."))
