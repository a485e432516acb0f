"""The data: calls, their demands, signatures, endorsements, organizers and the mail outbox."""

import enum
import secrets
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from . import tally
from .extensions import db

# One constant per limit: the forms' Length validators use the same numbers.
SLUG_MAX = 80
TITLE_MAX = 200
SUMMARY_MAX = 1000
NAME_MAX = 120
EMAIL_MAX = 254
CITY_MAX = 100
AFFILIATION_MAX = 150
ORGANIZATION_MAX = 200
ROLE_MAX = 100
WEBSITE_MAX = 300
PLACE_MAX = 200
ADDRESS_MAX = 300
TIMEZONE_MAX = 64
REASON_MAX = 200
LANGUAGE_MAX = 16

# Table options of every table whose ids the audit log, a link or another record names:
# without AUTOINCREMENT, SQLite gives a deleted highest id to the next row, and "hide
# signature 27" would name someone else. (PostgreSQL's identity columns never go back.)
IDS_NEVER_REUSED = {"sqlite_autoincrement": True}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Store naive UTC, hand back aware UTC: SQLite keeps no time zone, PostgreSQL may."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given for a UTC column")
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if value is not None else None


def _enum(cls: type[enum.Enum]) -> Enum:
    # Store the lower-case values, checked by a constraint on every database.
    return Enum(
        cls,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        create_constraint=True,
        length=32,
        name=cls.__name__.lower(),
    )


class PetitionStatus(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class SignatureStatus(enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    # Spam or a fake name, set by an organizer: kept (and restorable) but never counted.
    INVALID = "invalid"


class SignatureSource(enum.Enum):
    WEB = "web"  # the form, confirmed by email
    PAPER = "paper"  # collected in the street, typed in or imported by an organizer
    IMPORT = "import"  # moved from another petition tool


class OrganizerRole(enum.Enum):
    OWNER = "owner"  # manages organizer accounts and every call
    ORGANIZER = "organizer"  # works on the calls they were given


class EndorsementStatus(enum.Enum):
    PENDING = "pending"  # waiting for the contact to confirm by email
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    REJECTED = "rejected"


class OrganizationType(enum.Enum):
    ASSOCIATION = "association"
    TRADE_UNION = "trade_union"
    COLLECTIVE = "collective"
    NGO = "ngo"
    POLITICAL_PARTY = "political_party"
    RELIGIOUS_ORGANIZATION = "religious_organization"
    MEDIA = "media"
    OTHER = "other"


class Petition(db.Model):
    """A call published by a coalition, with its demands and an optional rally."""

    __tablename__ = "petition"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    # The language the columns below are written in; other languages are translations.
    language: Mapped[str] = mapped_column(String(LANGUAGE_MAX), default="en")
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    summary: Mapped[str] = mapped_column(String(SUMMARY_MAX), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[PetitionStatus] = mapped_column(_enum(PetitionStatus))
    signature_goal: Mapped[int | None]
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    collects_endorsements: Mapped[bool] = mapped_column(default=True)
    event_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_timezone: Mapped[str | None] = mapped_column(String(TIMEZONE_MAX))
    event_place: Mapped[str | None] = mapped_column(String(PLACE_MAX))
    event_address: Mapped[str | None] = mapped_column(String(ADDRESS_MAX))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Counters kept by the rare events that change them (never by signing, see queries.py).
    signatures_withdrawn: Mapped[int] = mapped_column(default=0)
    endorsements_withdrawn: Mapped[int] = mapped_column(default=0)
    # Personal data is deleted this many days after the campaign ends (None: kept).
    purge_after_days: Mapped[int | None]
    # Once personal data is deleted, the counts it had are kept here.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_individuals: Mapped[int] = mapped_column(default=0)
    purged_organizations: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    demands: Mapped[list["Demand"]] = relationship(
        order_by="Demand.position", cascade="all, delete-orphan", back_populates="petition"
    )
    translations: Mapped[list["PetitionTranslation"]] = relationship(
        order_by="PetitionTranslation.language",
        cascade="all, delete-orphan",
        back_populates="petition",
    )

    __table_args__ = (
        CheckConstraint("signature_goal IS NULL OR signature_goal > 0", name="goal_positive"),
        CheckConstraint(
            "(event_starts_at IS NULL) = (event_timezone IS NULL)", name="event_has_timezone"
        ),
        CheckConstraint(
            "purge_after_days IS NULL OR purge_after_days >= 0", name="purge_after_days_positive"
        ),
        IDS_NEVER_REUSED,
    )

    def is_open(self, now: datetime | None = None) -> bool:
        """Whether the call still takes signatures."""
        if self.status is not PetitionStatus.OPEN:
            return False
        return self.closes_at is None or (now or utcnow()) < self.closes_at

    @property
    def ended_at(self) -> datetime | None:
        """When the campaign ended: the latest of its closing and its rally, once closed."""
        if self.is_open():
            return None
        moments = [m for m in (self.closed_at, self.closes_at, self.event_starts_at) if m]
        return max(moments) if moments else None

    @property
    def event_local_start(self) -> datetime | None:
        """The rally's start in its own time zone."""
        if self.event_starts_at is None or self.event_timezone is None:
            return None
        return self.event_starts_at.astimezone(ZoneInfo(self.event_timezone))


class Demand(db.Model):
    """One demand of a call, in the call's order."""

    __tablename__ = "demand"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)

    petition: Mapped[Petition] = relationship(back_populates="demands")
    translations: Mapped[list["DemandTranslation"]] = relationship(
        cascade="all, delete-orphan", back_populates="demand"
    )

    __table_args__ = (UniqueConstraint("petition_id", "position"),)


class PetitionTranslation(db.Model):
    """A call's title, summary and body in another language than its own."""

    __tablename__ = "petition_translation"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(LANGUAGE_MAX))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    summary: Mapped[str] = mapped_column(String(SUMMARY_MAX), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    petition: Mapped[Petition] = relationship(back_populates="translations")

    __table_args__ = (UniqueConstraint("petition_id", "language"),)


class DemandTranslation(db.Model):
    """One demand in another language than its call's own; it follows its demand."""

    __tablename__ = "demand_translation"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(LANGUAGE_MAX))
    text: Mapped[str] = mapped_column(Text)

    demand: Mapped[Demand] = relationship(back_populates="translations")

    __table_args__ = (UniqueConstraint("demand_id", "language"),)


class Signature(db.Model):
    """An individual's signature; it counts once its email address is confirmed."""

    __tablename__ = "signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(NAME_MAX))
    # Optional for signatures collected on paper; unique per call when given.
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    email_normalized: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    city: Mapped[str] = mapped_column(String(CITY_MAX))
    country: Mapped[str] = mapped_column(String(2))
    affiliation: Mapped[str | None] = mapped_column(String(AFFILIATION_MAX))
    show_publicly: Mapped[bool] = mapped_column(default=False)
    wants_updates: Mapped[bool] = mapped_column(default=False)
    will_attend: Mapped[bool] = mapped_column(default=False)
    status: Mapped[SignatureStatus] = mapped_column(
        _enum(SignatureStatus), default=SignatureStatus.PENDING
    )
    source: Mapped[SignatureSource] = mapped_column(
        _enum(SignatureSource), default=SignatureSource.WEB
    )
    # An organizer's choice, beside the signer's own show_publicly.
    hidden: Mapped[bool] = mapped_column(default=False)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalid_reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    privacy_notice_version: Mapped[str] = mapped_column(String(32))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    # Random per row and part of every mailed token: a token dies with its row.
    token_key: Mapped[str] = mapped_column(String(32))
    # Mails this signature caused on mails_day (UTC): at most MAILS_PER_SIGNATURE a day.
    mails_sent: Mapped[int] = mapped_column(default=0)
    mails_day: Mapped[date | None]

    petition: Mapped[Petition] = relationship()

    __table_args__ = (
        UniqueConstraint("petition_id", "email_normalized"),
        CheckConstraint("length(country) = 2", name="country_code"),
        # An invalid signature keeps confirmed_at: restoring it gives back its status.
        CheckConstraint(
            "status != 'confirmed' OR confirmed_at IS NOT NULL", name="confirmed_has_time"
        ),
        CheckConstraint("status != 'pending' OR confirmed_at IS NULL", name="pending_unconfirmed"),
        CheckConstraint(
            "(status = 'invalid') = (invalidated_at IS NOT NULL)", name="invalid_has_time"
        ),
        CheckConstraint(
            "(email IS NULL) = (email_normalized IS NULL)", name="email_normalized_with_email"
        ),
        CheckConstraint("source != 'web' OR email IS NOT NULL", name="web_has_email"),
        Index(
            "ix_signature_public",
            "petition_id",
            "status",
            "show_publicly",
            "hidden",
            "confirmed_at",
        ),
        # The campaign's days and the unconfirmed purge read this order.
        Index("ix_signature_signed", "petition_id", "signed_at"),
        Index("ix_signature_country", "petition_id", "status", "country"),
        IDS_NEVER_REUSED,
    )


class Endorsement(db.Model):
    """An organization's endorsement: confirmed by its contact, then approved by an organizer."""

    __tablename__ = "endorsement"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"))
    organization: Mapped[str] = mapped_column(String(ORGANIZATION_MAX))
    org_type: Mapped[OrganizationType] = mapped_column(_enum(OrganizationType))
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str] = mapped_column(String(CITY_MAX))
    website: Mapped[str | None] = mapped_column(String(WEBSITE_MAX))
    contact_name: Mapped[str] = mapped_column(String(NAME_MAX))
    contact_email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    contact_email_normalized: Mapped[str] = mapped_column(String(EMAIL_MAX))
    contact_role: Mapped[str] = mapped_column(String(ROLE_MAX))
    show_publicly: Mapped[bool] = mapped_column(default=True)
    status: Mapped[EndorsementStatus] = mapped_column(
        _enum(EndorsementStatus), default=EndorsementStatus.PENDING
    )
    endorsed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizer.id", ondelete="SET NULL")
    )
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    privacy_notice_version: Mapped[str] = mapped_column(String(32))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    token_key: Mapped[str] = mapped_column(String(32))
    mails_sent: Mapped[int] = mapped_column(default=0)
    mails_day: Mapped[date | None]

    petition: Mapped[Petition] = relationship()

    __table_args__ = (
        UniqueConstraint("petition_id", "contact_email_normalized"),
        CheckConstraint("length(country) = 2", name="country_code"),
        Index("ix_endorsement_public", "petition_id", "status", "reviewed_at"),
        IDS_NEVER_REUSED,
    )


class Submission(db.Model):
    """Details sent again for an address whose signature or endorsement is not confirmed yet.

    Whoever types an address has not proven it is theirs. Each submission keeps its own
    details, and the link mailed for it confirms those details and no others, so nobody
    can take another person's place by signing first with their address. Deleted once the
    address is confirmed, or with its record.
    """

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signature.id", ondelete="CASCADE"), index=True
    )
    endorsement_id: Mapped[int | None] = mapped_column(
        ForeignKey("endorsement.id", ondelete="CASCADE"), index=True
    )
    # The form's values, as the domain function checked and cleaned them.
    details: Mapped[dict] = mapped_column(JSON)
    locale: Mapped[str | None] = mapped_column(String(16))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("(signature_id IS NULL) != (endorsement_id IS NULL)", name="one_record"),
        IDS_NEVER_REUSED,  # its id is in a mailed link
    )

    @property
    def record_id(self) -> tuple[str, int]:
        """("signature", id) or ("endorsement", id): whose details these are."""
        if self.signature_id is not None:
            return ("signature", self.signature_id)
        return ("endorsement", self.endorsement_id)


class SignatoryTally(db.Model):
    """Part of how many signatures or endorsements of a call have a status.

    Written only by the database's triggers (tally.py); a count is the SUM of its shards.
    No foreign key to the call: when a call is deleted, its signatures' triggers subtract
    from these rows, which a cascade might already have removed. A deleted call's rows
    stay, at zero.
    """

    __tablename__ = "signatory_tally"

    petition_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # the counted table
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int]


tally.attach(db.Model.metadata)


class Organizer(UserMixin, db.Model):
    """A person who moderates calls and exports their signers."""

    __tablename__ = "organizer"
    __table_args__ = IDS_NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    # None until an invited organizer chooses a password.
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[OrganizerRole] = mapped_column(
        _enum(OrganizerRole), default=OrganizerRole.ORGANIZER
    )
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the login session: changing it (logout, new password) ends every session.
    session_key: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizer.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    petitions: Mapped[list[Petition]] = relationship(
        secondary="petition_organizer", order_by="Petition.title"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def is_owner(self) -> bool:
        return self.role is OrganizerRole.OWNER

    def get_id(self) -> str:
        """What the login session holds: the id and the current session key."""
        return f"{self.id}:{self.session_key}"

    def can_work_on(self, petition: Petition) -> bool:
        """Owners work on every call, organizers on the calls they were given."""
        return self.is_owner or petition in self.petitions


# Which organizers work on which call (owners work on all of them).
petition_organizer = Table(
    "petition_organizer",
    db.Model.metadata,
    Column("petition_id", ForeignKey("petition.id", ondelete="CASCADE"), primary_key=True),
    Column("organizer_id", ForeignKey("organizer.id", ondelete="CASCADE"), primary_key=True),
)


class AuditEntry(db.Model):
    """One organizer action, appended and never changed: who did what, when, to what.

    It names records by id and never copies personal data, so a withdrawal or a purge
    leaves nothing of the signer here.
    """

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    organizer_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizer.id", ondelete="SET NULL")
    )
    # Kept as text too: the entry outlives the account, and the CLI has no account.
    actor: Mapped[str] = mapped_column(String(EMAIL_MAX))
    action: Mapped[str] = mapped_column(String(64))
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petition.id", ondelete="SET NULL"))
    subject: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    petition: Mapped[Petition | None] = relationship()

    __table_args__ = (Index("ix_audit_entry_petition", "petition_id", "at"),)


class ExportManifest(db.Model):
    """What an export held, so a hand-over can be verified later against its file."""

    __tablename__ = "export_manifest"
    __table_args__ = IDS_NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petition.id", ondelete="SET NULL"))
    organizer_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizer.id", ondelete="SET NULL")
    )
    actor: Mapped[str] = mapped_column(String(EMAIL_MAX))
    who: Mapped[str] = mapped_column(String(32))  # individuals / organizations
    format: Mapped[str] = mapped_column(String(16))  # csv / jsonl
    filename: Mapped[str] = mapped_column(String(300))
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the last byte has been produced; None for an interrupted download.
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    row_count: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))

    petition: Mapped[Petition | None] = relationship()


class OutgoingMail(db.Model):
    """A mail queued in the same transaction as the change that caused it."""

    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(EMAIL_MAX))
    # Withdrawing a signature deletes the mails still queued for it.
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signature.id", ondelete="CASCADE"), index=True
    )
    endorsement_id: Mapped[int | None] = mapped_column(
        ForeignKey("endorsement.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Given up: refused for good by the SMTP server, or still failing after MAIL_GIVE_UP_HOURS.
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Due from this time (later after each failure), and leased to a sender until then.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    signature: Mapped[Signature | None] = relationship()
    endorsement: Mapped[Endorsement | None] = relationship()

    __table_args__ = (Index("ix_outgoing_mail_due", "sent_at", "next_attempt_at"),)


class ServiceSetting(db.Model):
    """A setting changed while the service runs (on every server at once), such as a pause."""

    __tablename__ = "service_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
