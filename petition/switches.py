"""Switches organizers flip while the service runs, seen by every server at once."""

from flask import current_app, g
from sqlalchemy.exc import SQLAlchemyError

from .errors import SigningPaused
from .extensions import db
from .models import ServiceSetting
from .queries import cached, forget

SIGNING_PAUSED = "signing_paused"
_CACHE_KEY = ("switch", SIGNING_PAUSED)


def signing_pause_notice() -> str | None:
    """The notice shown while signing is paused, or None.

    Read at most once per SWITCH_CACHE_SECONDS per process (every page and every signature
    asks): a pause reaches every server within that delay.
    """
    if "signing_pause_notice" not in g:
        try:
            g.signing_pause_notice = cached(
                _CACHE_KEY, current_app.config["SWITCH_CACHE_SECONDS"], _read_pause_notice
            )
        except SQLAlchemyError:  # an error page while the database is down
            db.session.rollback()
            return None
    return g.signing_pause_notice


def _read_pause_notice() -> str | None:
    setting = db.session.get(ServiceSetting, SIGNING_PAUSED)
    return setting.value if setting else None


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
    _forget()
    db.session.flush()


def resume_signing() -> None:
    """Take signatures again."""
    setting = db.session.get(ServiceSetting, SIGNING_PAUSED)
    if setting is not None:
        db.session.delete(setting)
    _forget()
    db.session.flush()


def _forget() -> None:
    g.pop("signing_pause_notice", None)
    forget(_CACHE_KEY)
