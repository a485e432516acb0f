"""Logs that do not profile signers: no secret, address, name or client address in a line.

Logs are personal data. A line tying a client address and a time to `POST /p/<slug>/sign`
records who signed what; a mailed link in a line lets its reader confirm, withdraw or take
an organizer's invitation. So every log record this process makes, whoever makes it
(Werkzeug, gunicorn, Flask, SQLAlchemy, Flask-Limiter, our own code), is redacted as it
is made (`install`): the secrets in the paths of mailed links, email addresses, the values
of query strings (organizer searches carry addresses and names), the rows PostgreSQL
quotes in its errors. Client addresses are left out of the access logs and the rate-limit
lines unless LOG_CLIENT_ADDRESSES asks for them (an operator fighting a flood, for a while).
"""

import logging
import os
import re

from gunicorn.glogging import Logger

# The path segment after these is a secret: the token of a mailed link.
SECRET_PATH_PREFIXES = ("confirm", "withdraw", "invitation", "setup", "unsubscribe")
_SECRET_IN_PATH = re.compile(
    r"/(" + "|".join(SECRET_PATH_PREFIXES) + r")/[^/?#\s\"']+", re.IGNORECASE
)
# Query parameters whose values never identify anyone: kept, the rest become [redacted].
SAFE_QUERY_KEYS = frozenset(
    {"page", "lang", "status", "before", "after", "format", "who", "next", "all", "v"}
)
_QUERY_PAIR = re.compile(r"([?&])([^=&\s\"'#]+)=([^&\s\"'#]*)")
_EMAIL = re.compile(r"[^\s@<>\"'(),;:\[\]]+(?:@|%40)[^\s@<>\"'(),;:\[\]%]+\.[A-Za-z0-9-]+")
# What PostgreSQL quotes back in its errors: the key of a duplicate, a whole failing row.
_DUPLICATE_KEY = re.compile(r"(Key \([^)]*\))=\(.*?\)( already exists| is not present)")
_FAILING_ROW = re.compile(r"Failing row contains \(.*\)")
# The Werkzeug development server's request lines start with the client address.
_WERKZEUG_CLIENT = re.compile(r"^\S+(?= - - \[)")

_keep_client_addresses = False


def redact(text: str) -> str:
    """The text without the secrets of mailed links, email addresses or query values."""
    text = _SECRET_IN_PATH.sub(lambda m: f"/{m.group(1)}/[token]", text)
    if "=" in text:
        text = _QUERY_PAIR.sub(_redact_query_value, text)
    if "@" in text or "%40" in text:
        text = _EMAIL.sub("[email]", text)
    if "Key (" in text:
        text = _DUPLICATE_KEY.sub(r"\1=([redacted])\2", text)
    if "Failing row" in text:
        text = _FAILING_ROW.sub("Failing row contains ([redacted])", text)
    return text


def _redact_query_value(match: re.Match) -> str:
    separator, key, value = match.groups()
    if key.lower() in SAFE_QUERY_KEYS or not value:
        return match.group(0)
    return f"{separator}{key}=[redacted]"


def keeps_client_addresses() -> bool:
    """Whether log lines may show client addresses (LOG_CLIENT_ADDRESSES)."""
    return _keep_client_addresses


def install(client_addresses: bool = False) -> None:
    """Redact every log record of this process as it is made (once per process)."""
    global _keep_client_addresses
    _keep_client_addresses = client_addresses
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "redacts", False):
        return

    def make_redacted_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _redact_record(record)
        return record

    make_redacted_record.redacts = True
    logging.setLogRecordFactory(make_redacted_record)


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: logging reports it itself, args untouched
        return
    if not _keep_client_addresses:
        if record.name == "werkzeug":
            message = _WERKZEUG_CLIENT.sub("-", message)
        elif record.name == "flask-limiter" and message.startswith("ratelimit "):
            # "ratelimit 20 per 1 minute (203.0.113.7:slug) exceeded at endpoint: ..."
            message = re.sub(r"\(([^)]*)\) exceeded", "([client]) exceeded", message)
    record.msg, record.args = redact(message), ()
    if record.exc_info and record.exc_info[0] is not None:
        # Formatted now and kept: handlers use exc_text rather than formatting again.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class GunicornLogger(Logger):
    """gunicorn's logger: access lines without the client address (unless asked), and every
    line redacted like the rest (`install`, with LOG_CLIENT_ADDRESSES from the environment)."""

    def __init__(self, cfg):
        install(_environment_flag("LOG_CLIENT_ADDRESSES"))
        super().__init__(cfg)

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        if not _keep_client_addresses:
            atoms["h"] = "-"
            atoms.pop("{x-forwarded-for}i", None)
            atoms.pop("{x-real-ip}i", None)
        for key in ("r", "U", "q", "f", "{referer}i"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


def _environment_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
