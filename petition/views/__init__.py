"""Blueprints, one per audience, and the helpers they share."""

from flask import request
from flask_babel import get_locale

from ..extensions import db
from ..models import Petition
from ..queries import petition_by_slug


def petition_or_404(slug: str) -> Petition:
    """The call with this slug, or a 404 page."""
    return db.first_or_404(petition_by_slug(slug))


def request_context() -> dict:
    """Who is asking, as the domain functions record it."""
    return {"ip": request.remote_addr, "locale": str(get_locale() or "")}
