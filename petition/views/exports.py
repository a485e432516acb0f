"""Exports with filters (CSV, JSON Lines), their manifests, and the printable hand-over list."""

from . import organizer_blueprint

bp = organizer_blueprint("exports", __name__)
