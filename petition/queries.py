"""Queries as functions returning Select objects or scalars; views paginate or stream them."""

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from flask import current_app
from sqlalchemy import Date, Select, case, cast, event, func, inspect, null, select
from sqlalchemy.orm import make_transient_to_detached

from .extensions import db
from .models import (
    Endorsement,
    EndorsementStatus,
    ExportManifest,
    OrganizationType,
    Organizer,
    OutgoingMail,
    Petition,
    PetitionStatus,
    SignatoryTally,
    Signature,
    SignatureSource,
    SignatureStatus,
    petition_organizer,
)

T = TypeVar("T")


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

    Counts come from the tally the database's triggers keep (tally.py): a SUM of a few
    shard rows, whatever the call's size, with no single row that every signing
    updates (a hot row serializes signing, as the UK Parliament site learned). Readers
    of a viral call still share one read per process for a few seconds.
    """
    return cached(
        ("counts", petition.id),
        current_app.config["COUNTS_CACHE_SECONDS"],
        lambda: count_signatories(petition),
    )


def cached(key: tuple, seconds: float, compute: Callable[[], T]) -> T:
    """compute(), shared by this process's requests for `seconds` under `key`."""
    cache = current_app.extensions.setdefault("petition.cache", {})
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    cache[key] = (now + seconds, value)
    return value


def forget(key: tuple) -> None:
    """Drop one value cached by `cached` in this process."""
    current_app.extensions.get("petition.cache", {}).pop(key, None)


# Values `keep` holds at most per process: its keys may come from requests (a page's query
# string, its host), so it must not grow without end.
KEPT_AT_MOST = 256


def keep(key: tuple, seconds: float, value: object) -> None:
    """Share `value` (not None) with this process's requests for `seconds` under `key`,
    unless KEPT_AT_MOST values still fresh are kept already."""
    cache = current_app.extensions.setdefault("petition.cache", {})
    now = time.monotonic()
    if len(cache) >= KEPT_AT_MOST:
        for stale in [k for k, (until, _) in list(cache.items()) if until <= now]:
            cache.pop(stale, None)
        if len(cache) >= KEPT_AT_MOST:
            return
    cache[key] = (now + seconds, value)


def recall(key: tuple):
    """The value `keep` (or `cached`) shares under `key`, or None once its time is up."""
    hit = current_app.extensions.get("petition.cache", {}).get(key)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def forget_matching(prefix: tuple) -> None:
    """Drop every value this process caches under a key that starts with `prefix`."""
    cache = current_app.extensions.get("petition.cache", {})
    for key in [key for key in list(cache) if key[: len(prefix)] == prefix]:
        cache.pop(key, None)


def forget_counts(petition: Petition) -> None:
    """Drop this process's cached figures of a call (who just acted sees the change), and
    the pages that show them."""
    for kind in ("counts", "public_lists", "campaign"):
        forget((kind, petition.id))
    forget_matching(("page", petition.slug))


def call_snapshot(slug: str) -> Petition | None:
    """A detached copy of the call with this slug, read at most once per SWITCH_CACHE_SECONDS
    in this process (signers' and readers' pages ask on every request); None if none.

    A call changed here is forgotten at once (_forget_changed_call): closing it refuses
    signatures at once on this server, within SWITCH_CACHE_SECONDS on the others.
    """
    key = ("call", slug)
    snapshot = recall(key)
    if snapshot is None:
        petition = db.session.execute(petition_by_slug(slug)).scalar_one_or_none()
        if petition is None:
            return None  # not kept: anyone can ask for any slug
        columns = Petition.__table__.columns
        snapshot = Petition(**{column.key: getattr(petition, column.key) for column in columns})
        make_transient_to_detached(snapshot)
        keep(key, current_app.config["SWITCH_CACHE_SECONDS"], snapshot)
    return snapshot


@event.listens_for(Petition, "after_update")
def _forget_changed_call(mapper, connection, petition: Petition) -> None:
    # Under its old slug too, when the change is of the slug.
    for slug in {petition.slug, *inspect(petition).attrs.slug.history.deleted}:
        forget(("call", slug))
        forget_matching(("page", slug))


def tally_by_status(petition: Petition) -> dict[tuple[str, str], int]:
    """(counted table, status value) -> how many rows the call has now, from the tally."""
    rows = db.session.execute(
        select(SignatoryTally.kind, SignatoryTally.status, func.sum(SignatoryTally.n))
        .where(SignatoryTally.petition_id == petition.id)
        .group_by(SignatoryTally.kind, SignatoryTally.status)
    )
    # A status every row has left keeps its tally rows, at zero: as absent as in a COUNT.
    return {(kind, status): int(number) for kind, status, number in rows if number}


def count_signatories(petition: Petition) -> Counts:
    """Confirmed individuals and approved organizations now (hidden ones count too).

    A call whose personal data was deleted after its campaign keeps the counts it had.
    """
    tally = tally_by_status(petition)
    return Counts(
        tally.get(("signature", SignatureStatus.CONFIRMED.value), 0) + petition.purged_individuals,
        tally.get(("endorsement", EndorsementStatus.APPROVED.value), 0)
        + petition.purged_organizations,
    )


def status_counts(petition: Petition) -> dict[str, int]:
    """Signatures and endorsements by status (and withdrawals), for organizers.

    The rows there are now: after a purge, what counts is in count_signatories.
    """
    counts: dict[str, int] = {
        "individuals_withdrawn": petition.signatures_withdrawn,
        "organizations_withdrawn": petition.endorsements_withdrawn,
    }
    prefixes = {"signature": "individuals", "endorsement": "organizations"}
    for (kind, status), number in tally_by_status(petition).items():
        counts[f"{prefixes[kind]}_{status}"] = number
    return counts


def attendance_counts(petition: Petition) -> dict[str, int]:
    """Signers who said they will attend the rally, by status value, for organizers."""
    rows = db.session.execute(
        select(Signature.status, func.count())
        .where(Signature.petition_id == petition.id, Signature.will_attend.is_(True))
        .group_by(Signature.status)
    )
    return {status.value: number for status, number in rows}


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


@dataclass(frozen=True)
class SignersPage:
    """A page of public_signers, and the signers that lead to the pages around it."""

    items: list[Signature]
    newer: int | None  # the id to ask for the newer signers before this page (?after=)
    older: int | None  # the id to ask for the older signers after this page (?before=)


def public_signers_page(
    petition: Petition, per_page: int, *, before: int | None = None, after: int | None = None
) -> SignersPage:
    """The public signers older than the listed signer `before`, or newer than the listed
    signer `after`, or else the latest.

    A page is found from a signer beside it, through the index, instead of by its number:
    a numbered page counts the list and skips every row before it, which at a million
    signers took 50 ms on SQLite against 0.4 ms for the call page. Only a signer in the
    public list leads anywhere (any other id gives the latest page, so an id reveals
    nothing about signers who are not shown); one who left it since also gives the latest.
    """
    query = public_signers(petition)
    anchor_id = before if before is not None else after
    anchor = None
    if anchor_id is not None:
        anchor = db.session.scalar(
            query.with_only_columns(Signature.confirmed_at).where(Signature.id == anchor_id)
        )
    if anchor is not None and after is not None:
        newer = db.session.scalars(
            query.where(
                Signature.confirmed_at >= anchor,  # a range of the index, ties decided next
                (Signature.confirmed_at > anchor) | (Signature.id > anchor_id),
            )
            .order_by(None)
            .order_by(Signature.confirmed_at, Signature.id)
            .limit(per_page + 1)
        ).all()
        if len(newer) > per_page:
            shown = newer[:per_page]
            return SignersPage(shown[::-1], newer=shown[-1].id, older=shown[0].id)
        anchor = None  # less than a page of newer signers: the latest page
    if anchor is not None:
        query = query.where(
            Signature.confirmed_at <= anchor,
            (Signature.confirmed_at < anchor) | (Signature.id < anchor_id),
        )
    rows = db.session.scalars(query.limit(per_page + 1)).all()
    shown = rows[:per_page]
    return SignersPage(
        shown,
        newer=shown[0].id if anchor is not None and shown else None,
        older=shown[-1].id if len(rows) > per_page else None,
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


def export_individuals(
    petition: Petition,
    statuses: Collection[SignatureStatus] | None = (SignatureStatus.CONFIRMED,),
    *,
    signed_from: datetime | None = None,
    signed_before: datetime | None = None,
    country: str | None = None,
    wants_updates: bool = False,
    will_attend: bool = False,
    source: SignatureSource | None = None,
) -> Select:
    """Signatures to export, in columns: confirmed ones unless other statuses (None: all)."""
    query = select(
        Signature.full_name,
        Signature.email,
        Signature.city,
        Signature.country,
        Signature.affiliation,
        Signature.show_publicly,
        Signature.wants_updates,
        Signature.will_attend,
        Signature.status,
        Signature.source,
        Signature.locale.label("language"),
        Signature.signed_at,
        Signature.confirmed_at,
    ).where(Signature.petition_id == petition.id)
    if statuses is not None:
        query = query.where(Signature.status.in_(statuses))
    if signed_from is not None:
        query = query.where(Signature.signed_at >= signed_from)
    if signed_before is not None:
        query = query.where(Signature.signed_at < signed_before)
    if country is not None:
        query = query.where(Signature.country == country)
    if wants_updates:
        query = query.where(Signature.wants_updates.is_(True))
    if will_attend:
        query = query.where(Signature.will_attend.is_(True))
    if source is not None:
        query = query.where(Signature.source == source)
    return query.order_by(Signature.id)


def export_organizations(
    petition: Petition,
    statuses: Collection[EndorsementStatus] | None = (EndorsementStatus.APPROVED,),
    *,
    endorsed_from: datetime | None = None,
    endorsed_before: datetime | None = None,
    country: str | None = None,
    org_type: OrganizationType | None = None,
) -> Select:
    """Endorsements to export, in columns: approved ones unless other statuses (None: all)."""
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
        Endorsement.locale.label("language"),
        Endorsement.endorsed_at,
        Endorsement.confirmed_at,
        approved_at,
    ).where(Endorsement.petition_id == petition.id)
    if statuses is not None:
        query = query.where(Endorsement.status.in_(statuses))
    if endorsed_from is not None:
        query = query.where(Endorsement.endorsed_at >= endorsed_from)
    if endorsed_before is not None:
        query = query.where(Endorsement.endorsed_at < endorsed_before)
    if country is not None:
        query = query.where(Endorsement.country == country)
    if org_type is not None:
        query = query.where(Endorsement.org_type == org_type)
    return query.order_by(Endorsement.id)


def export_manifests(petition: Petition) -> Select:
    """A call's past exports, newest first."""
    return (
        select(ExportManifest)
        .where(ExportManifest.petition_id == petition.id)
        .order_by(ExportManifest.started_at.desc(), ExportManifest.id.desc())
    )


def handover_signers(petition: Petition) -> Select:
    """The hand-over's columns of the individuals shown in public, in the order they confirmed."""
    return (
        select(Signature.full_name, Signature.city, Signature.country)
        .where(
            Signature.petition_id == petition.id,
            Signature.status == SignatureStatus.CONFIRMED,
            Signature.show_publicly.is_(True),
            Signature.hidden.is_(False),
        )
        .order_by(Signature.confirmed_at, Signature.id)
    )


# --- The campaign page and moderation (views/moderation.py) ---


def confirmed_per_day(petition: Petition, since: datetime, until: datetime) -> Select:
    """(day, count) of signatures confirmed in [since, until), by UTC day, oldest first.

    One GROUP BY over the index (petition_id, status, ..., confirmed_at); the day is cut
    in SQL, with each database's own function.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        day = cast(Signature.confirmed_at, Date)
    else:
        day = func.date(Signature.confirmed_at, type_=Date)
    day = day.label("day")
    return (
        select(day, func.count().label("signatures"))
        .where(
            Signature.petition_id == petition.id,
            Signature.status == SignatureStatus.CONFIRMED,
            Signature.confirmed_at >= since,
            Signature.confirmed_at < until,
        )
        .group_by(day)
        .order_by(day)
    )


def confirmed_by_country(petition: Petition) -> Select:
    """(country, count) of confirmed signatures, most first: one GROUP BY on its index."""
    signatures = func.count().label("signatures")
    return (
        select(Signature.country, signatures)
        .where(Signature.petition_id == petition.id, Signature.status == SignatureStatus.CONFIRMED)
        .group_by(Signature.country)
        .order_by(signatures.desc(), Signature.country)
    )


def latest_signatures(petition: Petition) -> Select:
    """Every signature of a call whatever its status, newest first (index on signed_at)."""
    return (
        select(Signature)
        .where(Signature.petition_id == petition.id)
        .order_by(Signature.signed_at.desc(), Signature.id.desc())
    )


def signature_search(petition: Petition, criteria) -> Select:
    """Signatures matching a moderation.SignatureCriteria, newest first."""
    return (
        select(Signature)
        .where(*criteria.conditions(petition))
        .order_by(Signature.signed_at.desc(), Signature.id.desc())
    )


def failed_mails(signature: Signature) -> Select:
    """The mails to a signer that were given up (refused for good, or failing too long)."""
    return (
        select(OutgoingMail)
        .where(OutgoingMail.signature_id == signature.id, OutgoingMail.failed_at.is_not(None))
        .order_by(OutgoingMail.failed_at.desc())
    )


def same_origin_count(signature: Signature) -> Select:
    """How many other signatures of the call came from the signature's network address that
    day (None while its origin is unknown or forgotten: see origins.py)."""
    if signature.ip_hash is None:
        return select(null())
    return select(func.count()).where(
        Signature.petition_id == signature.petition_id,
        Signature.ip_hash == signature.ip_hash,
        Signature.id != signature.id,
    )
