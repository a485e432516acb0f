"""Signed, expiring tokens for the links we mail (itsdangerous)."""

import hashlib
import time
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from .errors import ExpiredToken, InvalidToken

CONFIRM = "confirm"
WITHDRAW = "withdraw"
INVITE = "invite"  # an invited organizer choosing a password
KINDS = {"signature", "endorsement", "organizer"}


@dataclass(frozen=True)
class TokenClaim:
    """What a valid token says: which record, and the record's random key."""

    kind: str
    record_id: int
    key: str


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"],
        salt=f"petition.{purpose}",
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def make_token(purpose: str, kind: str, record_id: int, key: str) -> str:
    """A URL-safe token for one record and one purpose."""
    return _serializer(purpose).dumps([kind, record_id, key])


def read_token(purpose: str, token: str, max_age: int | None = None) -> TokenClaim:
    """Check a token's signature and age; raise InvalidToken or ExpiredToken."""
    try:
        kind, record_id, key = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise ExpiredToken from error
    except (BadSignature, ValueError, TypeError) as error:
        raise InvalidToken from error
    if kind not in KINDS or not isinstance(record_id, int) or not isinstance(key, str):
        raise InvalidToken
    return TokenClaim(kind, record_id, key)


def _form_clock() -> TimestampSigner:
    return TimestampSigner(
        current_app.config["SECRET_KEY"], salt="petition.form-time", digest_method=hashlib.sha256
    )


def form_timestamp() -> str:
    """When a form was served, signed so that a bot cannot backdate it."""
    return _form_clock().sign("form").decode()


def form_age(stamp: str | None) -> float | None:
    """Seconds since the form carrying this stamp was served; None if forged or missing."""
    if not stamp:
        return None
    try:
        _value, served = _form_clock().unsign(stamp, return_timestamp=True)
    except (BadSignature, ValueError, TypeError):
        return None
    return time.time() - served.timestamp()
