"""Queries as functions returning Select objects or scalars; views paginate or stream them."""

import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Select, case, func, select

from .extensions import db
from .models import (
    Endorsement,
    EndorsementStatus,
    Organizer,
    Petition,
    PetitionStatus,
    Signature,
    SignatureStatus,
    petition_organizer,
)


@dataclass(frozen=True)
class Counts:
    """What counts in public: confirmed individuals, approved organizations."""

    individuals: int
    organizations: int


def open_petitions() -> Select:
    """Open calls, newest first."""
    return (
        select(Petition)
        .where(Petition.status == PetitionStatus.OPEN)
        .order_by(Petition.created_at.desc(), Petition.id.desc())
    )


def all_petitions() -> Select:
    """Every call, newest first."""
    return select(Petition).order_by(Petition.created_at.desc(), Petition.id.desc())


def petitions_for(organizer: Organizer) -> Select:
    """The calls an organizer works on (all of them for an owner), newest first."""
    query = all_petitions()
    if not organizer.is_owner:
        query = query.join(petition_organizer).where(
            petition_organizer.c.organizer_id == organizer.id
        )
    return query


def petition_by_slug(slug: str) -> Select:
    """The call with this slug."""
    return select(Petition).where(Petition.slug == slug)


def public_counts(petition: Petition) -> Counts:
    """Counts shown in public, kept COUNTS_CACHE_SECONDS in this process.

    No counter row is updated when someone signs (a hot row serializes signing, as the
    UK Parliament site learned): counts come from the indexes, and readers of a viral
    call share one count per process for a few seconds instead of each counting.
    """
    cache = current_app.extensions.setdefault("petition.counts", {})
    now = time.monotonic()
    cached = cache.get(petition.id)
    if cached is not None and cached[0] > now:
        return cached[1]
    counts = count_signatories(petition)
    cache[petition.id] = (now + current_app.config["COUNTS_CACHE_SECONDS"], counts)
    return counts


def forget_counts(petition: Petition) -> None:
    """Drop this process's cached counts of a call (the person who just confirmed sees it)."""
    current_app.extensions.get("petition.counts", {}).pop(petition.id, None)


def count_signatories(petition: Petition) -> Counts:
    """Confirmed individuals and approved organizations, counted on the indexes now.

    A call whose personal data was deleted after its campaign keeps the counts it had.
    """
    individuals = db.session.scalar(
        select(func.count())
        .select_from(Signature)
        .where(Signature.petition_id == petition.id, Signature.status == SignatureStatus.CONFIRMED)
    )
    organizations = db.session.scalar(
        select(func.count())
        .select_from(Endorsement)
        .where(
            Endorsement.petition_id == petition.id,
            Endorsement.status == EndorsementStatus.APPROVED,
        )
    )
    return Counts(
        (individuals or 0) + petition.purged_individuals,
        (organizations or 0) + petition.purged_organizations,
    )


def status_counts(petition: Petition) -> dict[str, int]:
    """Signatures and endorsements by status (and withdrawals), for organizers."""
    counts: dict[str, int] = {
        "individuals_withdrawn": petition.signatures_withdrawn,
        "organizations_withdrawn": petition.endorsements_withdrawn,
    }
    for model, prefix in ((Signature, "individuals"), (Endorsement, "organizations")):
        rows = db.session.execute(
            select(model.status, func.count())
            .where(model.petition_id == petition.id)
            .group_by(model.status)
        )
        for status, number in rows:
            counts[f"{prefix}_{status.value}"] = number
    return counts


def public_signers(petition: Petition) -> Select:
    """Confirmed individuals who chose to be shown, latest first."""
    return (
        select(Signature)
        .where(
            Signature.petition_id == petition.id,
            Signature.status == SignatureStatus.CONFIRMED,
            Signature.show_publicly.is_(True),
            Signature.hidden.is_(False),
        )
        .order_by(Signature.confirmed_at.desc(), Signature.id.desc())
    )


def public_organizations(petition: Petition) -> Select:
    """Approved organizations that chose to be shown, by name."""
    return (
        select(Endorsement)
        .where(
            Endorsement.petition_id == petition.id,
            Endorsement.status == EndorsementStatus.APPROVED,
            Endorsement.show_publicly.is_(True),
        )
        .order_by(func.lower(Endorsement.organization), Endorsement.id)
    )


def endorsements_awaiting_approval(petition: Petition) -> Select:
    """Confirmed endorsements an organizer has not yet reviewed, oldest first."""
    return (
        select(Endorsement)
        .where(
            Endorsement.petition_id == petition.id,
            Endorsement.status == EndorsementStatus.AWAITING_APPROVAL,
        )
        .order_by(Endorsement.confirmed_at, Endorsement.id)
    )


def export_individuals(petition: Petition, all_statuses: bool = False) -> Select:
    """Signatures to export (confirmed ones unless all statuses are asked for), in columns."""
    query = select(
        Signature.full_name,
        Signature.email,
        Signature.city,
        Signature.country,
        Signature.affiliation,
        Signature.show_publicly,
        Signature.wants_updates,
        Signature.status,
        Signature.signed_at,
        Signature.confirmed_at,
    ).where(Signature.petition_id == petition.id)
    if not all_statuses:
        query = query.where(Signature.status == SignatureStatus.CONFIRMED)
    return query.order_by(Signature.id)


def export_organizations(petition: Petition, all_statuses: bool = False) -> Select:
    """Endorsements to export (approved ones unless all statuses are asked for), in columns."""
    approved_at = case(
        (Endorsement.status == EndorsementStatus.APPROVED, Endorsement.reviewed_at)
    ).label("approved_at")
    query = select(
        Endorsement.organization,
        Endorsement.org_type,
        Endorsement.country,
        Endorsement.city,
        Endorsement.website,
        Endorsement.contact_name,
        Endorsement.contact_email,
        Endorsement.contact_role,
        Endorsement.show_publicly,
        Endorsement.status,
        Endorsement.endorsed_at,
        Endorsement.confirmed_at,
        approved_at,
    ).where(Endorsement.petition_id == petition.id)
    if not all_statuses:
        query = query.where(Endorsement.status == EndorsementStatus.APPROVED)
    return query.order_by(Endorsement.id)
