"""The public, read-only JSON API: calls, counts, approved organizations, public signers."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
