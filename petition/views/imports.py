"""Signatures from the street: importing paper signatures and other tools' CSV files."""

from . import organizer_blueprint

bp = organizer_blueprint("imports", __name__)
