"""Signed, expiring tokens for the links we mail (itsdangerous)."""

import hashlib
import hmac
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
    """What a valid token says: which record, the record's random key, and for a confirmation
    link mailed after a later submission, which submission's details it confirms."""

    kind: str
    record_id: int
    key: str
    submission_id: int | None = None


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"],
        salt=f"petition.{purpose}",
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def make_token(
    purpose: str, kind: str, record_id: int, key: str, submission_id: int | None = None
) -> str:
    """A URL-safe token for one record and one purpose (and one submission's details)."""
    claim = [kind, record_id, key] + ([submission_id] if submission_id is not None else [])
    return _serializer(purpose).dumps(claim)


def read_token(purpose: str, token: str, max_age: int | None = None) -> TokenClaim:
    """Check a token's signature and age; raise InvalidToken or ExpiredToken."""
    try:
        kind, record_id, key, *submission = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise ExpiredToken from error
    except (BadSignature, ValueError, TypeError) as error:
        raise InvalidToken from error
    if kind not in KINDS or not isinstance(record_id, int) or not isinstance(key, str):
        raise InvalidToken
    if submission and (len(submission) > 1 or not isinstance(submission[0], int)):
        raise InvalidToken
    return TokenClaim(kind, record_id, key, submission[0] if submission else None)


def _form_clock() -> TimestampSigner:
    return TimestampSigner(
        current_app.config["SECRET_KEY"], salt="petition.form-time", digest_method=hashlib.sha256
    )


def form_timestamp(form: str) -> str:
    """When a form (its kind and call: "sign:12") was served, signed so that a bot can
    neither backdate it nor use one stamp for every call and form."""
    return _form_clock().sign(form).decode()


def form_age(stamp: str | None, form: str) -> float | None:
    """Seconds since this form was served with this stamp; None if forged, missing or the
    stamp of another form."""
    if not stamp:
        return None
    try:
        value, served = _form_clock().unsign(stamp, return_timestamp=True)
    except (BadSignature, ValueError, TypeError):
        return None
    if not hmac.compare_digest(value, form.encode()):
        return None
    return time.time() - served.timestamp()
