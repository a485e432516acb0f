"""Organizer accounts (owners only), one's own password, and the audit log."""

from . import organizer_blueprint

bp = organizer_blueprint("accounts", __name__)
