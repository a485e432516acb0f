"""Keeping personal data no longer than needed: unconfirmed signatures, ended campaigns."""

from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, text, update

from . import audit
from .errors import InvalidTransition
from .extensions import db
from .models import (
    Endorsement,
    EndorsementStatus,
    OutgoingMail,
    Petition,
    Signature,
    SignatureStatus,
    utcnow,
)


def purge_unconfirmed(older_than_days: int, now: datetime | None = None) -> dict[str, int]:
    """Delete signatures and endorsements never confirmed by email within that many days."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    signatures = db.session.execute(
        delete(Signature).where(
            Signature.status == SignatureStatus.PENDING, Signature.signed_at < cutoff
        )
    ).rowcount
    endorsements = db.session.execute(
        delete(Endorsement).where(
            Endorsement.status == EndorsementStatus.PENDING, Endorsement.endorsed_at < cutoff
        )
    ).rowcount
    if signatures or endorsements:
        audit.record(
            "purge_unconfirmed",
            older_than_days=older_than_days,
            signatures=signatures,
            endorsements=endorsements,
        )
    db.session.flush()
    return {"signatures": signatures, "endorsements": endorsements}


def purge_old_mails(older_than_days: int, now: datetime | None = None) -> int:
    """Delete mails sent or given up that many days ago: each holds its recipient's address."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    return db.session.execute(
        delete(OutgoingMail).where(
            or_(OutgoingMail.sent_at < cutoff, OutgoingMail.failed_at < cutoff)
        )
    ).rowcount


def forget_origins(older_than_days: int, now: datetime | None = None) -> int:
    """Erase the origin hashes of signatures and endorsements older than that many days."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    forgotten = 0
    for model, signed_at in (
        (Signature, Signature.signed_at),
        (Endorsement, Endorsement.endorsed_at),
    ):
        forgotten += db.session.execute(
            update(model)
            .where(model.ip_hash.is_not(None), signed_at < cutoff)
            .values(ip_hash=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    return forgotten


def wipe_deleted_data() -> None:
    """Let no deleted row linger on disk (call after the commit that deleted them).

    SQLite overwrites deleted rows with zeros (secure_delete, set on every connection), but
    its write-ahead log keeps older copies of the pages until a checkpoint: this one also
    empties the log, when no reader holds it. PostgreSQL's autovacuum reclaims dead rows.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def purge_date(petition: Petition) -> datetime | None:
    """When the call's personal data is due to be deleted, if a retention is set."""
    if petition.purge_after_days is None or petition.purged_at is not None:
        return None
    ended = petition.ended_at
    return ended + timedelta(days=petition.purge_after_days) if ended else None


def calls_due_for_purge(now: datetime | None = None) -> list[Petition]:
    """Closed calls whose retention period is over and whose data is still here."""
    now = now or utcnow()
    candidates = db.session.execute(
        select(Petition).where(Petition.purge_after_days.is_not(None), Petition.purged_at.is_(None))
    ).scalars()
    return [p for p in candidates if (due := purge_date(p)) is not None and due <= now]


def purge_call(petition: Petition, now: datetime | None = None) -> dict[str, int]:
    """Delete every signature and endorsement of a closed call, keeping only its counts.

    The public page goes on showing how many signed; nobody's name, address or email
    is left, in the database or in any later export.
    """
    if petition.is_open(now):
        raise InvalidTransition("close the call before deleting its signatures")
    counted = {
        "individuals": _count(Signature, Signature.status == SignatureStatus.CONFIRMED, petition),
        "organizations": _count(
            Endorsement, Endorsement.status == EndorsementStatus.APPROVED, petition
        ),
    }
    deleted = {
        "signatures": db.session.execute(
            delete(Signature).where(Signature.petition_id == petition.id)
        ).rowcount,
        "endorsements": db.session.execute(
            delete(Endorsement).where(Endorsement.petition_id == petition.id)
        ).rowcount,
    }
    petition.purged_individuals += counted["individuals"]
    petition.purged_organizations += counted["organizations"]
    petition.purged_at = now or utcnow()
    audit.record("purge_call", petition=petition, kept_counts=counted, **deleted)
    db.session.flush()
    return deleted


def _count(model, condition, petition: Petition) -> int:
    return db.session.scalar(
        select(func.count()).select_from(model).where(model.petition_id == petition.id, condition)
    )
