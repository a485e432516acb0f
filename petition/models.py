"""The data: calls, their demands, signatures, endorsements, organizers and the mail outbox."""

import enum
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    demands: Mapped[list["Demand"]] = relationship(
        order_by="Demand.position", cascade="all, delete-orphan", back_populates="petition"
    )

    __table_args__ = (
        CheckConstraint("signature_goal IS NULL OR signature_goal > 0", name="goal_positive"),
        CheckConstraint(
            "(event_starts_at IS NULL) = (event_timezone IS NULL)", name="event_has_timezone"
        ),
    )

    def is_open(self, now: datetime | None = None) -> bool:
        """Whether the call still takes signatures."""
        if self.status is not PetitionStatus.OPEN:
            return False
        return self.closes_at is None or (now or utcnow()) < self.closes_at

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

    __table_args__ = (UniqueConstraint("petition_id", "position"),)


class Signature(db.Model):
    """An individual's signature; it counts once its email address is confirmed."""

    __tablename__ = "signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(NAME_MAX))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    email_normalized: Mapped[str] = mapped_column(String(EMAIL_MAX))
    city: Mapped[str] = mapped_column(String(CITY_MAX))
    country: Mapped[str] = mapped_column(String(2))
    affiliation: Mapped[str | None] = mapped_column(String(AFFILIATION_MAX))
    show_publicly: Mapped[bool] = mapped_column(default=False)
    wants_updates: Mapped[bool] = mapped_column(default=False)
    status: Mapped[SignatureStatus] = mapped_column(
        _enum(SignatureStatus), default=SignatureStatus.PENDING
    )
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    privacy_notice_version: Mapped[str] = mapped_column(String(32))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    # Random per row and part of every mailed token: a token dies with its row.
    token_key: Mapped[str] = mapped_column(String(32))
    mails_sent: Mapped[int] = mapped_column(default=0)

    petition: Mapped[Petition] = relationship()

    __table_args__ = (
        UniqueConstraint("petition_id", "email_normalized"),
        CheckConstraint("length(country) = 2", name="country_code"),
        CheckConstraint(
            "(status = 'confirmed') = (confirmed_at IS NOT NULL)", name="confirmed_has_time"
        ),
        Index("ix_signature_public", "petition_id", "status", "show_publicly", "confirmed_at"),
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

    petition: Mapped[Petition] = relationship()

    __table_args__ = (
        UniqueConstraint("petition_id", "contact_email_normalized"),
        CheckConstraint("length(country) = 2", name="country_code"),
        Index("ix_endorsement_public", "petition_id", "status", "reviewed_at"),
    )


class Organizer(UserMixin, db.Model):
    """A person who moderates calls and exports their signers."""

    __tablename__ = "organizer"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active


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
