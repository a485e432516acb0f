"""Signing and endorsing a call: normalization, duplicates, confirmation, withdrawal, approval.

These functions add and flush but never commit: the caller (a view or a command)
commits once, so a failure leaves nothing half-stored.
"""

import functools
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import mail
from .errors import (
    EndorsementsNotCollected,
    InvalidToken,
    PetitionClosed,
)
from .extensions import db
from .models import (
    Endorsement,
    EndorsementStatus,
    OrganizationType,
    Petition,
    Signature,
    SignatureStatus,
    Submission,
    utcnow,
)
from .origins import origin_hash
from .petitions import call_text
from .rules import (
    ENDORSEMENT_DETAILS,
    ENDORSEMENT_TEXT,
    SIGNATURE_DETAILS,
    SIGNATURE_TEXT,
    checked_values,
    email_key,
    normalize_email,
)
from .switches import ensure_signing_not_paused, signing_pause_notice
from .tokens import CONFIRM, WITHDRAW, make_token, read_token


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
        "ip_hash": origin_hash(ip, now),
        "locale": locale,
        "token_key": secrets.token_hex(16),
        # The confirmation mail sent below, counted in the insert itself.
        "mails_sent": 1,
        "mails_day": now.date(),
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
    given = {"full_name": full_name, "email": email, "city": city, "country": country}
    given = checked_values({**given, "affiliation": affiliation}, SIGNATURE_TEXT, "email")
    values = {
        "petition_id": petition.id,
        **given,
        "email_normalized": email_key(given["email"]),
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
        Signature, signature.id, now
    ):
        if signature.status is SignatureStatus.PENDING:
            details = {name: values[name] for name in SIGNATURE_DETAILS}
            _mail_signer(signature, "confirm", _keep_submission(signature, details, locale, now))
        else:
            _mail_signer(signature, "already_signed")
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
    given = {
        "organization": organization,
        "country": country,
        "city": city,
        "website": website,
        "contact_name": contact_name,
        "contact_email": contact_email,
        "contact_role": contact_role,
    }
    given = checked_values(given, ENDORSEMENT_TEXT, "contact_email")
    values = {
        "petition_id": petition.id,
        **given,
        "org_type": OrganizationType(org_type),
        "contact_email_normalized": email_key(given["contact_email"]),
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
    if _take_mail_allowance(Endorsement, endorsement.id, now):
        if endorsement.status is EndorsementStatus.PENDING:
            details = {name: values[name] for name in ENDORSEMENT_DETAILS}
            details["org_type"] = details["org_type"].value
            submission = _keep_submission(endorsement, details, locale, now)
            _mail_signer(endorsement, "confirm", submission)
        else:
            _mail_signer(endorsement, "already_signed")
    return endorsement


def _take_mail_allowance(model, record_id: int, now: datetime) -> bool:
    """Count one more mail for the record today, unless it has had its share (atomic).

    A day's share, not a lifetime's: someone who used another person's address cannot
    keep its owner from ever getting a link of their own.
    """
    cap, today = current_app.config["MAILS_PER_SIGNATURE"], now.date()
    result = db.session.execute(
        update(model)
        .where(
            model.id == record_id,
            or_(model.mails_day.is_distinct_from(today), model.mails_sent < cap),
        )
        .values(
            mails_sent=case((model.mails_day == today, model.mails_sent + 1), else_=1),
            mails_day=today,
        )
    )
    return result.rowcount == 1


_FLAGS = {"show_publicly", "wants_updates", "will_attend"}


def _keep_submission(
    record: Signature | Endorsement, details: dict, locale: str | None, now: datetime
) -> Submission:
    submission = Submission(
        **{f"{_kind(record)}_id": record.id},
        details=details,
        locale=locale,
        submitted_at=now,
    )
    db.session.add(submission)
    db.session.flush()
    return submission


def details_of(record: Signature | Endorsement) -> dict:
    """The details a record holds now, in the shape a submission keeps them."""
    if isinstance(record, Signature):
        return {name: getattr(record, name) for name in SIGNATURE_DETAILS}
    details = {name: getattr(record, name) for name in ENDORSEMENT_DETAILS}
    details["org_type"] = record.org_type.value
    return details


def _kind(record: Signature | Endorsement) -> str:
    return "signature" if isinstance(record, Signature) else "endorsement"


def _mail_signer(
    record: Signature | Endorsement, template: str, submission: Submission | None = None
) -> None:
    kind = _kind(record)
    recipient = record.email if kind == "signature" else record.contact_email
    # In the language of the submission the mail answers, whoever's request sends it.
    locale = submission.locale if submission is not None else record.locale
    languages = current_app.config["LANGUAGES"]
    locale = locale if locale in languages else languages[0]
    submission_id = submission.id if submission is not None else None
    with force_locale(locale):
        mail.queue(
            recipient=normalize_email(recipient),
            template=f"{kind}_{template}",
            context={
                "record": record,
                # The details this mail's link confirms: the submission's, else the record's.
                "details": submission.details if submission is not None else details_of(record),
                "petition": record.petition,
                # The call's title in the signer's language when the call has it.
                "call": call_text(record.petition, locale),
                "confirm_token": make_token(
                    CONFIRM, kind, record.id, record.token_key, submission_id
                ),
                "withdraw_token": make_token(WITHDRAW, kind, record.id, record.token_key),
            },
            **{kind: record},
        )


@dataclass(frozen=True)
class MailedLink:
    """A mailed link's record and, for a confirmation link, the details it confirms."""

    record: Signature | Endorsement
    details: dict
    submission: Submission | None = None


def link_for_token(purpose: str, token: str) -> MailedLink:
    """What a mailed link points to; InvalidToken if its record or submission is gone."""
    max_age = current_app.config["CONFIRM_TOKEN_MAX_AGE"] if purpose == CONFIRM else None
    claim = read_token(purpose, token, max_age=max_age)
    model = Signature if claim.kind == "signature" else Endorsement
    record = db.session.get(model, claim.record_id)
    if record is None or not hmac.compare_digest(record.token_key, claim.key):
        raise InvalidToken
    if claim.submission_id is None or not is_pending(record):
        return MailedLink(record, details_of(record))
    submission = db.session.get(Submission, claim.submission_id)
    if submission is None or submission.record_id != (claim.kind, record.id):
        raise InvalidToken
    return MailedLink(record, submission.details, submission)


def is_pending(record: Signature | Endorsement) -> bool:
    """Whether the record's email address is not confirmed yet."""
    pending = (
        SignatureStatus.PENDING if isinstance(record, Signature) else EndorsementStatus.PENDING
    )
    return record.status is pending


def confirm(
    record: Signature | Endorsement,
    details: dict | None = None,
    *,
    locale: str | None = None,
    consent_at: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """Confirm the email address; harmless when repeated. True if this call confirmed it.

    `details` are those of a later submission whose link is used, or the owner's own
    correction on the confirmation page (given with the `locale` and `consent_at` of that
    submission or correction); without them, the record's own details are confirmed.
    Raises PetitionClosed once the call no longer takes signatures (a count handed over
    must not change afterwards), InvalidSubmission if the details break a rule.
    """
    now = now or utcnow()
    if not is_pending(record):
        return False
    if not record.petition.is_open(now):
        raise PetitionClosed
    if details is not None:
        _apply_details(record, details, now)
        record.locale = locale or record.locale
        record.consent_at = consent_at or now
        record.privacy_notice_version = current_app.config["PRIVACY_NOTICE_VERSION"]
    if isinstance(record, Signature):
        record.status = SignatureStatus.CONFIRMED
    else:
        record.status = EndorsementStatus.AWAITING_APPROVAL
    record.confirmed_at = now
    # The other submissions were someone's guesses at this address: none of them is kept.
    owner = Submission.signature_id if isinstance(record, Signature) else Submission.endorsement_id
    db.session.execute(delete(Submission).where(owner == record.id))
    db.session.flush()
    return True


def _apply_details(record: Signature | Endorsement, details: dict, now: datetime) -> None:
    # The address is not among them: the link used proves it.
    if isinstance(record, Signature):
        values = {name: details.get(name) for name in SIGNATURE_DETAILS}
        attends = bool(values["will_attend"]) and asks_attendance(record.petition, now)
        values["will_attend"] = attends
        checked = checked_values(values, SIGNATURE_TEXT)
    else:
        values = {name: details.get(name) for name in ENDORSEMENT_DETAILS}
        values["org_type"] = OrganizationType(values["org_type"])
        checked = checked_values(values, ENDORSEMENT_TEXT)
    for name, value in checked.items():
        setattr(record, name, bool(value) if name in _FLAGS else value)


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
