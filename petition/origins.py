"""Where signatures come from, for a short while: a keyed hash of the client address.

Organizers facing a flood can list the signatures sent from the same network address on
the same day as one of them. The key is random, one per UTC day, and kept in the database
only during that day: afterwards nobody can compute an address's hash again, so no hash can
be reversed by trying every IPv4 address (with a key derived from SECRET_KEY, anyone holding
it could, in minutes). The daily `purge` erases the hashes older than ORIGIN_DAYS, which can
then no longer even be compared. Addresses themselves are never stored.
"""

import hashlib
import hmac
import secrets
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db
from .models import ServiceSetting

_PREFIX = "origin_key:"
# This process's key of the day: (day, key), read or made once a day.
_today: tuple[date, bytes] | None = None


def origin_hash(address: str | None, now: datetime) -> str | None:
    """The hash of a client address under the day's key; None without an address."""
    if not address:
        return None
    key = _key_of(now.date())
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def _key_of(day: date) -> bytes:
    global _today
    if _today is not None and _today[0] == day:
        return _today[1]
    name = f"{_PREFIX}{day.isoformat()}"
    # Every server process takes the same key: the first to ask makes it, others find it.
    dialect = db.session.get_bind().dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    db.session.execute(
        insert(ServiceSetting)
        .values(key=name, value=secrets.token_hex(32))
        .on_conflict_do_nothing(index_elements=["key"])
    )
    key = bytes.fromhex(db.session.scalar(select(ServiceSetting.value).filter_by(key=name)))
    # Yesterday's key is of no use any more: once gone, no hash of it can be recomputed.
    db.session.execute(
        delete(ServiceSetting)
        .where(ServiceSetting.key.startswith(_PREFIX), ServiceSetting.key != name)
        .execution_options(synchronize_session=False)
    )
    _today = (day, key)
    return key


def forget_cached_key() -> None:
    """Read the key from the database again (tests; a process's cache is one day's key)."""
    global _today
    _today = None
