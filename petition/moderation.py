"""Moderation: every organizer's change to a signature or endorsement, each recording its audit
entry: hiding, marking invalid and restoring (one or many), approving and rejecting.

These functions add and flush but never commit: the view or command commits once, so
a refused action leaves nothing half-stored. Each records its audit entry in the same
transaction, naming records by id and never copying a signer's name or address.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, case, func, literal, select, update

from . import audit, queries
from .errors import InvalidTransition
from .extensions import db
from .models import (
    Endorsement,
    EndorsementStatus,
    Organizer,
    Petition,
    Signature,
    SignatureStatus,
    utcnow,
)
from .rules import anonymized_note

# What bulk invalidation may touch: everything not already invalid.
_VALID_STATUSES = (SignatureStatus.PENDING, SignatureStatus.CONFIRMED)
# What the audit log says of a criterion it does not keep.
GIVEN = "[given]"
# A searched domain is kept in the audit log only when at least this many signatures matched.
AUDIT_DOMAIN_MINIMUM = 5


@dataclass(frozen=True)
class SignatureCriteria:
    """A search among a call's signatures; empty parts match everything.

    `name` and `email` are case-insensitive fragments; `domain` is the exact part after
    the @ of the normalized address; the dates are inclusive days in UTC.
    """

    name: str = ""
    email: str = ""
    domain: str = ""
    signed_from: date | None = None
    signed_until: date | None = None
    status: SignatureStatus | None = None
    # The id of a signature: those sent from the same network address on the same day.
    origin: int | None = None

    def narrows(self) -> bool:
        """Whether anything but the status is given (bulk actions need that much)."""
        return bool(
            self.name
            or self.email
            or self.domain
            or self.signed_from
            or self.signed_until
            or self.origin is not None
        )

    def conditions(self, petition: Petition) -> list[ColumnElement[bool]]:
        """The WHERE clauses of this search in a call."""
        where: list[ColumnElement[bool]] = [Signature.petition_id == petition.id]
        if self.name:
            where.append(Signature.full_name.icontains(self.name, autoescape=True))
        if self.email:
            where.append(Signature.email_normalized.contains(self.email.lower(), autoescape=True))
        if self.domain:
            where.append(
                Signature.email_normalized.endswith("@" + self.domain.lower(), autoescape=True)
            )
        if self.signed_from:
            where.append(Signature.signed_at >= _start_of(self.signed_from))
        if self.signed_until:
            where.append(Signature.signed_at < _start_of(self.signed_until + timedelta(days=1)))
        if self.status is not None:
            where.append(Signature.status == self.status)
        if self.origin is not None:
            # No match when the origin is unknown or forgotten (NULL equals nothing).
            hashed = select(Signature.ip_hash).where(
                Signature.id == self.origin, Signature.petition_id == petition.id
            )
            where.append(Signature.ip_hash == hashed.scalar_subquery())
        return where

    def query_args(self) -> dict[str, str]:
        """The criteria as a query string: links and redirects to the same search."""
        values = {
            "name": self.name,
            "email": self.email,
            "domain": self.domain,
            "signed_from": self.signed_from.isoformat() if self.signed_from else "",
            "signed_until": self.signed_until.isoformat() if self.signed_until else "",
            "status": self.status.value if self.status else "",
            "origin": str(self.origin) if self.origin is not None else "",
        }
        return {key: value for key, value in values.items() if value}

    def for_audit(self, matched: int) -> dict[str, str]:
        """The criteria as the audit log keeps them, naming no one: the audit outlives the
        signers, and a name or an address searched for is theirs. A domain shared by fewer
        than AUDIT_DOMAIN_MINIMUM matching signatures may be one person's own: left out."""
        kept = self.query_args()
        for identifying in ("name", "email"):
            if identifying in kept:
                kept[identifying] = GIVEN
        if "domain" in kept and matched < AUDIT_DOMAIN_MINIMUM:
            kept["domain"] = GIVEN
        return kept


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def hide(signature: Signature) -> None:
    """Keep a signature out of the public list; it still counts."""
    if signature.hidden:
        raise InvalidTransition
    signature.hidden = True
    db.session.flush()
    audit.record("hide", petition=signature.petition, subject=f"signature {signature.id}")


def unhide(signature: Signature) -> None:
    """Show a hidden signature in the public list again (if its signer chose to be shown)."""
    if not signature.hidden:
        raise InvalidTransition
    signature.hidden = False
    db.session.flush()
    audit.record("unhide", petition=signature.petition, subject=f"signature {signature.id}")


def invalidate(
    signature: Signature, reason: str | None = None, now: datetime | None = None
) -> None:
    """Mark a signature invalid (spam, a fake name): kept and restorable, never counted."""
    if signature.status is SignatureStatus.INVALID:
        raise InvalidTransition
    signature.status = SignatureStatus.INVALID
    signature.invalidated_at = now or utcnow()
    signature.invalid_reason = anonymized_note(reason) or None
    db.session.flush()
    audit.record(
        "invalidate",
        petition=signature.petition,
        subject=f"signature {signature.id}",
        # The entry outlives the signer: their name goes too.
        reason=anonymized_note(reason, [signature.full_name]) or None,
    )


def restore(signature: Signature) -> None:
    """Undo an invalidation: confirmed again if it had been confirmed, else pending."""
    if signature.status is not SignatureStatus.INVALID:
        raise InvalidTransition
    signature.status = (
        SignatureStatus.CONFIRMED if signature.confirmed_at else SignatureStatus.PENDING
    )
    signature.invalidated_at = None
    signature.invalid_reason = None
    db.session.flush()
    audit.record(
        "restore",
        petition=signature.petition,
        subject=f"signature {signature.id}",
        status=signature.status.value,
    )


def count_invalidatable(petition: Petition, criteria: SignatureCriteria) -> int:
    """How many signatures invalidate_matching would change now."""
    return _count(petition, criteria, Signature.status.in_(_VALID_STATUSES))


def count_restorable(petition: Petition, criteria: SignatureCriteria) -> int:
    """How many signatures restore_matching would change now."""
    return _count(petition, criteria, Signature.status == SignatureStatus.INVALID)


def _count(petition: Petition, criteria: SignatureCriteria, status: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(Signature).where(*_bulk_where(petition, criteria))
    return db.session.scalar(query.where(status)) or 0


def _bulk_where(petition: Petition, criteria: SignatureCriteria) -> list[ColumnElement[bool]]:
    # A bulk action never runs on a whole call by accident, and ignores the status
    # filter: each action picks the statuses it can change.
    if not criteria.narrows():
        raise ValueError("a bulk action needs a name, an email, a domain or dates")
    return SignatureCriteria(**{**criteria.__dict__, "status": None}).conditions(petition)


def invalidate_matching(
    petition: Petition,
    criteria: SignatureCriteria,
    reason: str | None = None,
    now: datetime | None = None,
) -> int:
    """Mark every matching pending or confirmed signature invalid, in one UPDATE; the count.

    The audit keeps the reason without the matching signers' names: it outlives them.
    """
    matching = (*_bulk_where(petition, criteria), Signature.status.in_(_VALID_STATUSES))
    names = []
    if reason:
        names = db.session.scalars(select(Signature.full_name).where(*matching).distinct())
    reason_for_audit = anonymized_note(reason, names) or None
    result = db.session.execute(
        update(Signature)
        .where(*matching)
        .values(
            status=SignatureStatus.INVALID,
            invalidated_at=now or utcnow(),
            invalid_reason=anonymized_note(reason) or None,
        )
        .execution_options(synchronize_session=False)
    )
    _expire_loaded_signatures()
    audit.record(
        "invalidate_bulk",
        petition=petition,
        criteria=criteria.for_audit(result.rowcount),
        count=result.rowcount,
        reason=reason_for_audit,
    )
    return result.rowcount


def restore_matching(petition: Petition, criteria: SignatureCriteria) -> int:
    """Restore every matching invalid signature, in one UPDATE; the count."""
    status_type = Signature.__table__.c.status.type
    result = db.session.execute(
        update(Signature)
        .where(*_bulk_where(petition, criteria), Signature.status == SignatureStatus.INVALID)
        .values(
            status=case(
                (
                    Signature.confirmed_at.is_not(None),
                    literal(SignatureStatus.CONFIRMED, status_type),
                ),
                else_=literal(SignatureStatus.PENDING, status_type),
            ),
            invalidated_at=None,
            invalid_reason=None,
        )
        .execution_options(synchronize_session=False)
    )
    _expire_loaded_signatures()
    audit.record(
        "restore_bulk",
        petition=petition,
        criteria=criteria.for_audit(result.rowcount),
        count=result.rowcount,
    )
    return result.rowcount


def _expire_loaded_signatures() -> None:
    # The UPDATE bypassed the session: signatures it holds must be read again.
    for record in list(db.session.identity_map.values()):
        if isinstance(record, Signature):
            db.session.expire(record)


def approve(endorsement: Endorsement, organizer: Organizer, now: datetime | None = None) -> None:
    """Make a confirmed endorsement count and show (it may have been rejected before)."""
    _review(endorsement, organizer, EndorsementStatus.APPROVED, now)
    audit.record(
        "approve", petition=endorsement.petition, subject=f"endorsement {endorsement.id}"
    )


def reject(endorsement: Endorsement, organizer: Organizer, now: datetime | None = None) -> None:
    """Keep an endorsement out of the counts and the public list."""
    _review(endorsement, organizer, EndorsementStatus.REJECTED, now)
    audit.record("reject", petition=endorsement.petition, subject=f"endorsement {endorsement.id}")


class NotOnTheList(InvalidTransition):
    """Some of the endorsements named are not this call's."""


class CountChanged(InvalidTransition):
    """A bulk change would touch another number of signatures than the organizer saw."""

    def __init__(self, expected: int, count: int):
        super().__init__(f"expected {expected}, found {count}")
        self.expected, self.count = expected, count


def approve_many(
    petition: Petition, endorsements: Sequence[Endorsement], organizer: Organizer
) -> int:
    """Approve several endorsements awaiting approval at once; all or none; one audit entry."""
    return _review_many(petition, endorsements, organizer, EndorsementStatus.APPROVED)


def reject_many(
    petition: Petition, endorsements: Sequence[Endorsement], organizer: Organizer
) -> int:
    """Reject several endorsements awaiting approval at once; all or none; one audit entry."""
    return _review_many(petition, endorsements, organizer, EndorsementStatus.REJECTED)


def review_ticked(petition: Petition, ids: set[int], approving: bool, organizer: Organizer) -> int:
    """Approve or reject the endorsements of a call ticked in a list; how many.

    Raises NotOnTheList if an id is not one of the call's endorsements, InvalidTransition
    if one was reviewed meanwhile (all or none).
    """
    # Locked until the commit: two organizers cannot review the same one at once.
    chosen = db.session.scalars(
        select(Endorsement)
        .where(Endorsement.id.in_(ids), Endorsement.petition_id == petition.id)
        .with_for_update()
    ).all()
    if len(chosen) != len(ids):
        raise NotOnTheList
    review = approve_many if approving else reject_many
    return review(petition, chosen, organizer)


def change_matching(
    petition: Petition,
    criteria: SignatureCriteria,
    restoring: bool,
    expected: int,
    reason: str | None = None,
) -> int:
    """Invalidate (or restore) every signature of a search; CountChanged, for the caller to
    roll back, if they are not the number the organizer saw: signatures came meanwhile."""
    if restoring:
        count = restore_matching(petition, criteria)
    else:
        count = invalidate_matching(petition, criteria, reason)
    if count != expected:
        raise CountChanged(expected, count)
    return count


def change_one(signature: Signature, action: str, reason: str | None = None) -> None:
    """Hide, unhide, invalidate or restore a signature (`action`); InvalidTransition if it
    is not in a state for it."""
    if action == "invalidate":
        invalidate(signature, reason)
    else:
        {"hide": hide, "unhide": unhide, "restore": restore}[action](signature)


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


def _review_many(petition, endorsements, organizer, decision: EndorsementStatus) -> int:
    if not endorsements:
        raise InvalidTransition
    now = utcnow()
    for endorsement in endorsements:
        # Only the awaiting list: a bulk action never overturns an earlier decision.
        if (
            endorsement.petition_id != petition.id
            or endorsement.status is not EndorsementStatus.AWAITING_APPROVAL
        ):
            raise InvalidTransition
        _review(endorsement, organizer, decision, now)
    ids = sorted(endorsement.id for endorsement in endorsements)
    action = "approve_bulk" if decision is EndorsementStatus.APPROVED else "reject_bulk"
    audit.record(action, petition=petition, organizer=organizer, ids=ids, count=len(ids))
    return len(ids)


# The chart of the campaign page stays bounded: at most this many days.
CHART_DAYS = 90


def confirmations_by_day(
    petition: Petition, today: date | None = None, days: int = CHART_DAYS
) -> list[tuple[date, int]]:
    """Confirmed signatures per UTC day over the campaign's last `days` days, gaps as zeros."""
    today = today or utcnow().date()
    ended = petition.ended_at
    last = min(today, ended.date()) if ended else today
    first = last - timedelta(days=days - 1)
    rows = db.session.execute(
        queries.confirmed_per_day(petition, _start_of(first), _start_of(last + timedelta(days=1)))
    ).all()
    counts = {day: number for day, number in rows}
    # From the call's first day (or first confirmation), never after the last day.
    start = min(max(first, min([petition.created_at.date(), *counts])), last)
    return [
        (start + timedelta(days=n), counts.get(start + timedelta(days=n), 0))
        for n in range((last - start).days + 1)
    ]
