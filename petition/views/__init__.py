"""Blueprints, one per audience, and the helpers they share."""

import re
from collections.abc import Iterable
from datetime import datetime
from functools import wraps

from flask import Blueprint, abort, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape

from ..extensions import db
from ..forms.fields import ButtonForm
from ..models import Petition
from ..petitions import CallText, call_text, call_texts
from ..queries import call_snapshot, petition_by_slug

# The query parameter that picks a call's language apart from the interface's: for
# languages the interface does not speak (yet), and so each language has its own URL.
CONTENT_LANGUAGE = "lang"


def iso_datetime(moment: datetime) -> str:
    """A time as the `datetime` attribute of <time> takes it: to the second (HTML allows no
    more than milliseconds, and a reader needs no more than seconds)."""
    return moment.isoformat(timespec="seconds")


def petition_or_404(slug: str) -> Petition:
    """The call with this slug, or a 404 page."""
    return db.first_or_404(petition_by_slug(slug))


def public_petition_or_404(slug: str) -> Petition:
    """The call with this slug as signers and readers see it, or a 404 page: read at most once
    per SWITCH_CACHE_SECONDS per process (queries.call_snapshot), never for the organizers'
    pages, which change it."""
    snapshot = call_snapshot(slug)
    if snapshot is None:
        abort(404)
    # Into this request's session without a query; what it lazy-loads is read as usual.
    return db.session.merge(snapshot, load=False)


def organizer_blueprint(name: str, import_name: str, url_prefix: str = "/organizer") -> Blueprint:
    """A blueprint of the workspace: login required and nothing cached, on every route."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)

    @bp.before_request
    @login_required
    def _require_login():
        """Every route of the workspace is for logged-in organizers only."""

    @bp.after_request
    def _no_store(response):
        # Signer lists must not stay in a shared or browser cache.
        response.cache_control.no_store = True
        return response

    return bp


def refuse_forged(form) -> None:
    """A form refused for its CSRF token was forged or has expired: the 400 page, not the form."""
    if "csrf_token" in form.errors:
        raise CSRFError()


def require_button() -> None:
    """A button's POST (ButtonForm) must carry a valid CSRF token, else the 400 page."""
    if not ButtonForm().validate_on_submit():
        raise CSRFError()


def managed_petition_or_404(slug: str) -> Petition:
    """The call with this slug if the logged-in organizer works on it: else 404 or 403."""
    petition = petition_or_404(slug)
    if not current_user.can_work_on(petition):
        abort(403)
    return petition


def owner_required(view):
    """Only owners reach this view (organizer accounts, whole-call deletions)."""

    @wraps(view)
    def checked(*args, **kwargs):
        if not current_user.is_authenticated or not current_user.is_owner:
            abort(403)
        return view(*args, **kwargs)

    return checked


MAX_PAGE = 1_000_000


def page_number() -> int:
    """The ?page= of a list, or a 404 page for anything but 1 to a million."""
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= MAX_PAGE:
        abort(404)
    return page


# A row's id in ?before= / ?after=: digits without a sign or leading zero, at most the
# largest id of a 32-bit INTEGER column (PostgreSQL refuses a larger value to compare).
ROW_ID = re.compile(r"[1-9][0-9]{0,9}")
ROW_ID_MAX = 2**31 - 1


def neighbour_ids() -> tuple[int | None, int | None]:
    """?before= and ?after= of a list paged from a row beside the page (at most one of them).

    Raises ValueError for anything else.
    """
    before, after = request.args.get("before"), request.args.get("after")
    if before is not None and after is not None:
        raise ValueError("before and after")
    for raw in (before, after):
        if raw is not None and not (ROW_ID.fullmatch(raw) and int(raw) <= ROW_ID_MAX):
            raise ValueError(raw)
    return (
        int(before) if before is not None else None,
        int(after) if after is not None else None,
    )


def request_context() -> dict:
    """Who is asking, as the domain functions record it."""
    return {"ip": request.remote_addr, "locale": str(get_locale() or "")}


def reader_call_text(petition: Petition) -> CallText:
    """The call in the reader's language: ?lang= if the call exists in it, else the page's
    language if it does, else the call's own."""
    return call_text(petition, *_reader_languages())


def reader_call_texts(petitions: Iterable[Petition]) -> dict[int, CallText]:
    """`reader_call_text` of several calls, by id, read together."""
    return call_texts(petitions, *_reader_languages())


def _reader_languages() -> tuple[str | None, str]:
    asked = request.args.get(CONTENT_LANGUAGE) if has_request_context() else None
    return asked, str(get_locale() or "")


def keep_lang(text: CallText) -> str | None:
    """The ?lang= that links from this page keep: the one that chose the call's language."""
    if has_request_context() and request.args.get(CONTENT_LANGUAGE) == text.language:
        return text.language
    return None


def content_lang(text: CallText) -> Markup:
    """` lang="xx"` for an element holding the call's words when they are not in the page's
    language (screen readers then read them with the right voice), else nothing."""
    if text.language == str(get_locale() or ""):
        return Markup("")
    return Markup(' lang="{}"').format(escape(text.language))


def isolate(words: str) -> Markup:
    """Someone's words (a name, an organization) in `<bdi>`, for a sentence of the page: an
    Arabic name does not reorder an English sentence's punctuation, nor a Latin one Arabic's."""
    return Markup("<bdi>{}</bdi>").format(words)
