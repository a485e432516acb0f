"""Switches organizers flip while the service runs, seen by every server at once."""

from flask import g
from sqlalchemy.exc import SQLAlchemyError

from .errors import SigningPaused
from .extensions import db
from .models import ServiceSetting

SIGNING_PAUSED = "signing_paused"


def signing_pause_notice() -> str | None:
    """The notice shown while signing is paused, or None. Read once per request."""
    if "signing_pause_notice" not in g:
        try:
            setting = db.session.get(ServiceSetting, SIGNING_PAUSED)
        except SQLAlchemyError:  # an error page while the database is down
            db.session.rollback()
            return None
        g.signing_pause_notice = setting.value if setting else None
    return g.signing_pause_notice


def ensure_signing_not_paused() -> None:
    """Raise SigningPaused while signing is paused."""
    if signing_pause_notice() is not None:
        raise SigningPaused(signing_pause_notice())


def pause_signing(notice: str) -> None:
    """Refuse every signature and endorsement, on every server, until resumed."""
    setting = db.session.get(ServiceSetting, SIGNING_PAUSED)
    if setting is None:
        db.session.add(ServiceSetting(key=SIGNING_PAUSED, value=notice))
    else:
        setting.value = notice
    g.pop("signing_pause_notice", None)
    db.session.flush()


def resume_signing() -> None:
    """Take signatures again."""
    setting = db.session.get(ServiceSetting, SIGNING_PAUSED)
    if setting is not None:
        db.session.delete(setting)
    g.pop("signing_pause_notice", None)
    db.session.flush()
