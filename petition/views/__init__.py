"""Blueprints, one per audience, and the helpers they share."""

from flask import abort, request
from flask_babel import get_locale

from ..extensions import db
from ..models import Petition
from ..queries import petition_by_slug


def petition_or_404(slug: str) -> Petition:
    """The call with this slug, or a 404 page."""
    return db.first_or_404(petition_by_slug(slug))


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
