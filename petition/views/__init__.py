"""Blueprints, one per audience, and the helpers they share."""

from functools import wraps

from flask import Blueprint, abort, request
from flask_babel import get_locale
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Petition
from ..queries import petition_by_slug


def petition_or_404(slug: str) -> Petition:
    """The call with this slug, or a 404 page."""
    return db.first_or_404(petition_by_slug(slug))


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


def request_context() -> dict:
    """Who is asking, as the domain functions record it."""
    return {"ip": request.remote_addr, "locale": str(get_locale() or "")}
