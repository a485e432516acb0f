"""Creating, editing, closing and reopening calls."""

from . import organizer_blueprint

bp = organizer_blueprint("calls", __name__)
