"""A call's campaign at a glance, and moderation: endorsements, hiding, invalid signatures."""

from . import organizer_blueprint

bp = organizer_blueprint("moderation", __name__)
