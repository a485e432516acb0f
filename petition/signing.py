"""Signing and endorsing a call: normalization, duplicates, confirmation, withdrawal, approval.

These functions add and flush but never commit: the caller (a view or a command)
commits once, so a failure leaves nothing half-stored.
"""

import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import datetime

from email_validator import SPECIAL_USE_DOMAIN_NAMES, validate_email
from email_validator.rfc_constants import (
    DNS_LABEL_LENGTH_LIMIT,
    DOMAIN_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    LOCAL_PART_MAX_LENGTH,
)
from flask import current_app, g, has_app_context
from flask_babel import force_locale
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import mail
from .errors import (
    EndorsementsNotCollected,
    InvalidToken,
    InvalidTransition,
    PetitionClosed,
)
from .extensions import db
from .models import (
    Endorsement,
    EndorsementStatus,
    OrganizationType,
    Organizer,
    Petition,
    Signature,
    SignatureStatus,
    utcnow,
)
from .petitions import call_text
from .switches import ensure_signing_not_paused, signing_pause_notice
from .tokens import CONFIRM, WITHDRAW, make_token, read_token

# Zero-width joiners are part of how Persian, Indic scripts and emoji are written.
_ALLOWED_FORMAT_CHARACTERS = frozenset({"\u200c", "\u200d"})
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})


def clean_text(value: str | None) -> str:
    """NFC, every run of whitespace (tabs, CR/LF, no-break spaces) as one space, ends trimmed."""
    if value is None:
        return ""
    if value.isascii():  # already NFC, and no joiner to trim: the common case, cheaply
        return " ".join(value.split())
    value = " ".join(unicodedata.normalize("NFC", value).split())
    return value.strip("".join(_ALLOWED_FORMAT_CHARACTERS)).strip()


def has_forbidden_characters(value: str) -> bool:
    """Whether a text holds control, bidi-override, zero-width or private-use characters."""
    if value.isprintable():  # none of category C (nor Z but the space): at C speed
        return False
    return any(
        unicodedata.category(c) in _FORBIDDEN_CATEGORIES and c not in _ALLOWED_FORMAT_CHARACTERS
        for c in value
    )


def normalize_email(address: str, *, check_deliverability: bool = False) -> str:
    """The address as email-validator normalizes it (domain lower-cased and IDNA-normalized).

    Raises EmailNotValidError with a message meant for the signer.
    """
    # A signing asks three times for the same address (the form, the dedupe key, the mail):
    # the request remembers its last answer, one address only (an import asks for many).
    asked = (address, check_deliverability)
    last = g.get("last_normalized_email") if has_app_context() else None
    if last is not None and last[0] == asked:
        return last[1]
    normalized = validate_email(address, check_deliverability=check_deliverability).normalized
    if has_app_context():
        g.last_normalized_email = (asked, normalized)
    return normalized


def email_key(address: str) -> str:
    """The dedupe key: the normalized address with its local part lower-cased too."""
    return plain_email_key(address) or normalize_email(address).lower()


# Addresses email-validator accepts and gives back unchanged but for the domain's case:
# words of ASCII letters, digits, _ + - between dots before the @; after it, host names of
# letters, digits and inner hyphens under a top-level domain of letters. Anything else
# (quotes, IP literals, IDN, "--" as in Punycode, other characters, long parts, the
# special-use names) is left to email-validator. tests/test_email_key.py compares the two.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]+"
)
_SPECIAL_USE_SUFFIXES = tuple("." + name for name in SPECIAL_USE_DOMAIN_NAMES)


def plain_email_key(address: str) -> str | None:
    """email_key of a plain address without email-validator (thirty times faster), else None."""
    if len(address) > EMAIL_MAX_LENGTH or not _PLAIN_ADDRESS.fullmatch(address):
        return None
    local, _, domain = address.partition("@")
    domain = domain.lower()
    if (
        len(local) > LOCAL_PART_MAX_LENGTH
        or len(domain) > DOMAIN_MAX_LENGTH
        or "--" in domain
        or any(len(label) > DNS_LABEL_LENGTH_LIMIT for label in domain.split("."))
        or domain in SPECIAL_USE_DOMAIN_NAMES
        or domain.endswith(_SPECIAL_USE_SUFFIXES)
    ):
        return None
    return address.lower()


def ip_hash(address: str | None) -> str | None:
    """A keyed hash of the client address: lets us spot floods without keeping the address."""
    if not address:
        return None
    key = hashlib.sha256(b"ip-hash:" + current_app.config["SECRET_KEY"].encode()).digest()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def ensure_open(petition: Petition, now: datetime | None = None) -> None:
    """Raise PetitionClosed unless the call takes signatures, SigningPaused during a pause."""
    if not petition.is_open(now):
        raise PetitionClosed
    ensure_signing_not_paused()


def accepts_signatures(petition: Petition, now: datetime | None = None) -> bool:
    """Whether the forms take signatures now: what ensure_open checks, as a yes or no."""
    return petition.is_open(now) and signing_pause_notice() is None


def asks_attendance(petition: Petition, now: datetime | None = None) -> bool:
    """Whether signers are asked if they will attend: the call has a rally still to come."""
    start = petition.event_starts_at
    return start is not None and (now or utcnow()) < start


def _insert_unless_duplicate(model, values: dict, unique_columns: list[str]):
    """INSERT ... ON CONFLICT DO NOTHING: the new record, or None if the unique key exists.

    Atomic on both databases, so two identical submissions racing store one row. The
    record comes back from RETURNING: no second query to load it.
    """
    dialect = db.session.get_bind().dialect.name
    statement = _insert_statement(model, dialect, tuple(unique_columns))
    return db.session.scalars(statement, values).one_or_none()


@functools.cache
def _insert_statement(model, dialect: str, unique_columns: tuple[str, ...]):
    # Built once, the values bound at execution: SQLAlchemy's compiled cache then finds the
    # statement without walking every value to make its cache key. A plain INSERT of the
    # table, its row read as the model: the ORM's own INSERT path costs twice as much.
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    table = model.__table__
    returning = (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(unique_columns))
        .returning(*table.columns)
    )
    return select(model).from_statement(returning)


def _consent(now: datetime, ip: str | None, locale: str | None) -> dict:
    return {
        "consent_at": now,
        "privacy_notice_version": current_app.config["PRIVACY_NOTICE_VERSION"],
        "ip_hash": ip_hash(ip),
        "locale": locale,
        "token_key": secrets.token_hex(16),
        # The confirmation mail sent below, counted in the insert itself.
        "mails_sent": 1,
    }


def sign(
    petition: Petition,
    *,
    full_name: str,
    email: str,
    city: str,
    country: str,
    affiliation: str | None = None,
    show_publicly: bool = False,
    wants_updates: bool = False,
    will_attend: bool = False,
    ip: str | None = None,
    locale: str | None = None,
    now: datetime | None = None,
) -> Signature:
    """Record a signature, or find the existing one for that address, and mail the signer.

    A new or still pending signature gets a confirmation link; a confirmed one gets a
    notice that it already counts. The caller learns nothing it could show on the page.
    Signing again changes nothing stored, the answer about the rally included: whoever
    types an address has not proven it is theirs until they use the mailed link.
    """
    now = now or utcnow()
    ensure_open(petition, now)
    values = {
        "petition_id": petition.id,
        "full_name": full_name,
        "email": email,
        "email_normalized": email_key(email),
        "city": city,
        "country": country,
        "affiliation": affiliation or None,
        "show_publicly": show_publicly,
        "wants_updates": wants_updates,
        # Only while a rally is to come, whatever the form sent.
        "will_attend": will_attend and asks_attendance(petition, now),
        "status": SignatureStatus.PENDING,
        "signed_at": now,
        **_consent(now, ip, locale),
    }
    signature = _insert_unless_duplicate(Signature, values, ["petition_id", "email_normalized"])
    if signature is not None:
        _mail_signer(signature, "confirm")  # its first mail: counted in the insert
        return signature
    signature = db.session.execute(
        select(Signature).filter_by(
            petition_id=petition.id, email_normalized=values["email_normalized"]
        )
    ).scalar_one()
    # A signature an organizer marked invalid gets no mail: it was spam or a fake.
    if signature.status is not SignatureStatus.INVALID and _take_mail_allowance(
        Signature, signature.id
    ):
        template = "confirm" if signature.status is SignatureStatus.PENDING else "already_signed"
        _mail_signer(signature, template)
    return signature


def endorse(
    petition: Petition,
    *,
    organization: str,
    org_type: OrganizationType,
    country: str,
    city: str,
    website: str | None,
    contact_name: str,
    contact_email: str,
    contact_role: str,
    show_publicly: bool = True,
    ip: str | None = None,
    locale: str | None = None,
    now: datetime | None = None,
) -> Endorsement:
    """Record an organization's endorsement, or find the one from that contact, and mail them."""
    now = now or utcnow()
    ensure_open(petition, now)
    if not petition.collects_endorsements:
        raise EndorsementsNotCollected
    values = {
        "petition_id": petition.id,
        "organization": organization,
        "org_type": org_type,
        "country": country,
        "city": city,
        "website": website or None,
        "contact_name": contact_name,
        "contact_email": contact_email,
        "contact_email_normalized": email_key(contact_email),
        "contact_role": contact_role,
        "show_publicly": show_publicly,
        "status": EndorsementStatus.PENDING,
        "endorsed_at": now,
        **_consent(now, ip, locale),
    }
    endorsement = _insert_unless_duplicate(
        Endorsement, values, ["petition_id", "contact_email_normalized"]
    )
    if endorsement is not None:
        _mail_signer(endorsement, "confirm")  # its first mail: counted in the insert
        return endorsement
    endorsement = db.session.execute(
        select(Endorsement).filter_by(
            petition_id=petition.id,
            contact_email_normalized=values["contact_email_normalized"],
        )
    ).scalar_one()
    if _take_mail_allowance(Endorsement, endorsement.id):
        pending = endorsement.status is EndorsementStatus.PENDING
        _mail_signer(endorsement, "confirm" if pending else "already_signed")
    return endorsement


def _take_mail_allowance(model, record_id: int) -> bool:
    """Count one more mail for the record, unless it has had its share (atomic)."""
    cap = current_app.config["MAILS_PER_SIGNATURE"]
    result = db.session.execute(
        update(model)
        .where(model.id == record_id, model.mails_sent < cap)
        .values(mails_sent=model.mails_sent + 1)
    )
    return result.rowcount == 1


def _kind(record: Signature | Endorsement) -> str:
    return "signature" if isinstance(record, Signature) else "endorsement"


def _mail_signer(record: Signature | Endorsement, template: str) -> None:
    kind = _kind(record)
    recipient = record.email if kind == "signature" else record.contact_email
    # In the language the person signed in, whoever's request sends it.
    languages = current_app.config["LANGUAGES"]
    locale = record.locale if record.locale in languages else languages[0]
    with force_locale(locale):
        mail.queue(
            recipient=normalize_email(recipient),
            template=f"{kind}_{template}",
            context={
                "record": record,
                "petition": record.petition,
                # The call's title in the signer's language when the call has it.
                "call": call_text(record.petition, record.locale),
                "confirm_token": make_token(CONFIRM, kind, record.id, record.token_key),
                "withdraw_token": make_token(WITHDRAW, kind, record.id, record.token_key),
            },
            **{kind: record},
        )


def record_for_token(purpose: str, token: str) -> Signature | Endorsement:
    """The signature or endorsement a mailed link points to; InvalidToken if there is none."""
    max_age = current_app.config["CONFIRM_TOKEN_MAX_AGE"] if purpose == CONFIRM else None
    claim = read_token(purpose, token, max_age=max_age)
    model = Signature if claim.kind == "signature" else Endorsement
    record = db.session.get(model, claim.record_id)
    if record is None or not hmac.compare_digest(record.token_key, claim.key):
        raise InvalidToken
    return record


def confirm(record: Signature | Endorsement, now: datetime | None = None) -> bool:
    """Confirm the email address; harmless when repeated. True if this call confirmed it."""
    now = now or utcnow()
    if isinstance(record, Signature):
        if record.status is not SignatureStatus.PENDING:
            return False
        record.status = SignatureStatus.CONFIRMED
    else:
        if record.status is not EndorsementStatus.PENDING:
            return False
        record.status = EndorsementStatus.AWAITING_APPROVAL
    record.confirmed_at = now
    db.session.flush()
    return True


def withdraw(record: Signature | Endorsement) -> None:
    """Delete the signature or endorsement and everything we hold about its signer.

    Only the call's count of withdrawals remembers it (a rare write, so one counter row).
    """
    counter = "signatures_withdrawn" if isinstance(record, Signature) else "endorsements_withdrawn"
    db.session.execute(
        update(Petition)
        .where(Petition.id == record.petition_id)
        .values({counter: getattr(Petition, counter) + 1})
    )
    db.session.delete(record)
    db.session.flush()


def approve(endorsement: Endorsement, organizer: Organizer, now: datetime | None = None) -> None:
    """Make a confirmed endorsement count and show."""
    _review(endorsement, organizer, EndorsementStatus.APPROVED, now)


def reject(endorsement: Endorsement, organizer: Organizer, now: datetime | None = None) -> None:
    """Keep an endorsement out of the counts and the public list."""
    _review(endorsement, organizer, EndorsementStatus.REJECTED, now)


def _review(
    endorsement: Endorsement,
    organizer: Organizer,
    decision: EndorsementStatus,
    now: datetime | None,
) -> None:
    if endorsement.status is EndorsementStatus.PENDING or endorsement.status is decision:
        raise InvalidTransition
    endorsement.status = decision
    endorsement.reviewed_at = now or utcnow()
    endorsement.reviewed_by_id = organizer.id
    db.session.flush()
