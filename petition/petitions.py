"""Calls: content files (TOML front matter + Markdown), loading, rendering their text."""

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .errors import DomainError, InvalidTransition
from .extensions import db
from .models import (
    ADDRESS_MAX,
    PLACE_MAX,
    SLUG_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Demand,
    Endorsement,
    Organizer,
    Petition,
    PetitionStatus,
    Signature,
    utcnow,
)

CONTENT_DIRECTORY = Path(__file__).parent / "content"
SLUG_PATTERN = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_FRONT_MATTER = re.compile(r"\A\+\+\+\s*\n(.*?)\n\+\+\+\s*\n?(.*)\Z", re.DOTALL)

# Raw HTML is escaped and javascript:/data: links refused by this preset.
_markdown = MarkdownIt("js-default")


class ContentError(ValueError):
    """A content file does not describe a valid call."""


@dataclass
class CallContent:
    """A call as written in a content file."""

    slug: str
    title: str
    summary: str = ""
    body: str = ""
    demands: list[str] = field(default_factory=list)
    status: PetitionStatus = PetitionStatus.OPEN
    signature_goal: int | None = None
    closes_at: datetime | None = None
    collects_endorsements: bool = True
    event_starts_at: datetime | None = None
    event_timezone: str | None = None
    event_place: str | None = None
    event_address: str | None = None


@lru_cache(maxsize=256)
def render_markdown(text: str) -> Markup:
    """A call's Markdown as safe HTML."""
    return Markup(_markdown.render(text))  # noqa: S704 - raw HTML is escaped by the preset


def parse_content(text: str) -> CallContent:
    """Read a content file: `+++` TOML front matter, then the Markdown body."""
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not match:
        raise ContentError("a content file starts with TOML front matter between +++ lines")
    try:
        meta = tomllib.loads(match.group(1))
    except tomllib.TOMLDecodeError as error:
        raise ContentError(f"front matter: {error}") from error

    def text_field(name: str, limit: int, required: bool = False) -> str:
        value = meta.get(name, "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise ContentError(f"{name} must be a non-empty string")
        if len(value) > limit:
            raise ContentError(f"{name} is longer than {limit} characters")
        return value.strip()

    slug = text_field("slug", SLUG_MAX, required=True)
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise ContentError("slug must be lower-case letters, digits and single hyphens")
    demands = meta.get("demands", [])
    if not isinstance(demands, list) or not all(isinstance(d, str) and d.strip() for d in demands):
        raise ContentError("demands must be a list of non-empty strings")
    try:
        status = PetitionStatus(meta.get("status", "open"))
    except ValueError as error:
        raise ContentError("status must be open or closed") from error
    goal = meta.get("signature_goal")
    if goal is not None and (type(goal) is not int or goal <= 0):
        raise ContentError("signature_goal must be a positive whole number")
    endorsements = meta.get("collects_endorsements", True)
    if not isinstance(endorsements, bool):
        raise ContentError("collects_endorsements must be true or false")

    content = CallContent(
        slug=slug,
        title=text_field("title", TITLE_MAX, required=True),
        summary=text_field("summary", SUMMARY_MAX),
        body=match.group(2).strip(),
        demands=[d.strip() for d in demands],
        status=status,
        signature_goal=goal,
        collects_endorsements=endorsements,
        closes_at=_aware(meta.get("closes_at"), meta.get("timezone", "UTC"), "closes_at"),
    )
    event = meta.get("event")
    if event is not None:
        if not isinstance(event, dict) or "starts_at" not in event or "timezone" not in event:
            raise ContentError("[event] needs starts_at and timezone")
        content.event_timezone = _timezone(event["timezone"])
        content.event_starts_at = _aware(event["starts_at"], event["timezone"], "event.starts_at")
        for key, limit in (("place", PLACE_MAX), ("address", ADDRESS_MAX)):
            value = event.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                raise ContentError(f"event.{key} must be a string of at most {limit} characters")
            setattr(content, f"event_{key}", value)
    return content


def _timezone(name: object) -> str:
    """An IANA time zone name that this machine knows."""
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ContentError(f"unknown time zone {name!r}") from error
    if not isinstance(name, str):
        raise ContentError(f"unknown time zone {name!r}")
    return name


def _aware(value: object, timezone: object, name: str) -> datetime | None:
    """A TOML date or date-time as aware UTC, reading local times in the given zone."""
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if not isinstance(value, datetime):
        raise ContentError(f"{name} must be a TOML date-time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(_timezone(timezone)))
    return value.astimezone(UTC)


def save_call(content: CallContent) -> tuple[Petition, bool]:
    """Add the call, or update the one with its slug; its signatures are never touched."""
    petition = db.session.execute(
        select(Petition).filter_by(slug=content.slug)
    ).scalar_one_or_none()
    created = petition is None
    if petition is None:
        petition = Petition(slug=content.slug)
        db.session.add(petition)
    write_call(petition, content)
    return petition, created


def write_call(petition: Petition, content: CallContent) -> None:
    """Give a call the content's text, settings and demands (the slug excepted); flush."""
    for name in (
        "title",
        "summary",
        "body",
        "status",
        "signature_goal",
        "closes_at",
        "collects_endorsements",
        "event_starts_at",
        "event_timezone",
        "event_place",
        "event_address",
    ):
        setattr(petition, name, getattr(content, name))
    _replace_demands(petition, content.demands)
    db.session.flush()


def _replace_demands(petition: Petition, texts: list[str]) -> None:
    # Edited in place: deleting and re-inserting would trip (petition, position) uniqueness.
    for position, text in enumerate(texts):
        if position < len(petition.demands):
            petition.demands[position].text = text
        else:
            petition.demands.append(Demand(position=position, text=text))
    del petition.demands[len(texts) :]


def load_call_file(path: Path) -> tuple[Petition, bool]:
    """Add or update the call described by a content file."""
    return save_call(parse_content(path.read_text(encoding="utf-8-sig")))


def load_shipped_calls() -> list[Petition]:
    """Add the calls shipped with the service that the database does not have yet."""
    added = []
    for path in sorted(CONTENT_DIRECTORY.glob("*.md")):
        content = parse_content(path.read_text(encoding="utf-8-sig"))
        exists = db.session.execute(select(Petition.id).filter_by(slug=content.slug)).first()
        if not exists:
            added.append(save_call(content)[0])
    return added


# --- Editing calls from the organizers' workspace (views/calls.py) ---

# Limits of the editor's free text, where the model's column is unbounded Text.
BODY_MAX = 100_000
DEMAND_MAX = 2_000
DEMANDS_MAX = 50
SIGNATURE_GOAL_MAX = 1_000_000_000  # within a 32-bit integer column
PURGE_AFTER_DAYS_MAX = 3_650

# What an edit can change, in the order the audit log lists it.
EDITABLE_FIELDS = (
    "slug",
    "title",
    "summary",
    "body",
    "demands",
    "signature_goal",
    "closes_at",
    "collects_endorsements",
    "event_starts_at",
    "event_timezone",
    "event_place",
    "event_address",
    "purge_after_days",
)


class SlugTaken(DomainError):
    """Another call already has this address."""


class SlugLocked(DomainError):
    """People signed the call at its address: the address no longer changes."""


class NonexistentLocalTime(ValueError):
    """A wall-clock time skipped by a daylight-saving change in that time zone."""


def local_to_utc(local: datetime, timezone: str) -> datetime:
    """A naive wall-clock time in an IANA zone as aware UTC; refuses times a clock change skips.

    A time that happens twice (clocks going back) is read as the first of the two.
    """
    zone = ZoneInfo(timezone)
    aware = local.replace(tzinfo=zone, fold=0)
    converted = aware.astimezone(UTC)
    if converted.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise NonexistentLocalTime(f"{local:%Y-%m-%d %H:%M} does not exist in {timezone}")
    return converted


def slug_is_locked(petition: Petition) -> bool:
    """Whether people have signed or endorsed the call, so its address is out in the world."""
    if petition.id is None:
        return False
    if petition.purged_at is not None or petition.signatures_withdrawn:
        return True
    if petition.endorsements_withdrawn:
        return True
    for model in (Signature, Endorsement):
        if db.session.execute(select(model.id).filter_by(petition_id=petition.id).limit(1)).first():
            return True
    return False


def _call_state(petition: Petition) -> dict[str, object]:
    state = {name: getattr(petition, name) for name in EDITABLE_FIELDS if name != "demands"}
    state["demands"] = [demand.text for demand in petition.demands]
    return state


def _ensure_slug_free(slug: str, petition: Petition | None = None) -> None:
    other = db.session.execute(select(Petition.id).filter_by(slug=slug)).scalar_one_or_none()
    if other is not None and (petition is None or other != petition.id):
        raise SlugTaken(slug)


def create_call(
    content: CallContent, organizer: Organizer, purge_after_days: int | None = None
) -> tuple[Petition, list[str]]:
    """Add a new call, written as `save_call` writes one; its creator is given rights on it.

    Returns the call and the names of the fields that were given a value.
    Raises SlugTaken if the address is in use (also when another organizer just took it).
    """
    _ensure_slug_free(content.slug)
    # Not save_call's look-up by slug: a call created meanwhile must not be overwritten.
    petition = Petition(slug=content.slug, purge_after_days=purge_after_days)
    db.session.add(petition)
    try:
        write_call(petition, content)
        organizer.petitions.append(petition)
        db.session.flush()
    except IntegrityError as error:  # the same slug, created a moment ago
        raise SlugTaken(content.slug) from error
    given = [name for name, value in _call_state(petition).items() if value not in (None, "", [])]
    return petition, given


def edit_call(
    petition: Petition, content: CallContent, purge_after_days: int | None = None
) -> list[str]:
    """Change a call as `save_call` does, keeping its status; signatures are never touched.

    The address (slug) changes only while nobody has signed or endorsed the call, and
    only to a free one: raises SlugLocked or SlugTaken. Returns the changed field names.
    """
    before = _call_state(petition)
    if content.slug != petition.slug:
        if slug_is_locked(petition):
            raise SlugLocked(petition.slug)
        _ensure_slug_free(content.slug, petition)
        petition.slug = content.slug
    # Opening and closing have their own buttons (and their own audit entries).
    content = replace(content, status=petition.status)
    petition.purge_after_days = purge_after_days
    try:
        write_call(petition, content)
    except IntegrityError as error:
        raise SlugTaken(content.slug) from error
    after = _call_state(petition)
    return [name for name in EDITABLE_FIELDS if before[name] != after[name]]


def close_call(petition: Petition, now: datetime | None = None) -> None:
    """Stop the call taking signatures now."""
    if petition.status is PetitionStatus.CLOSED:
        raise InvalidTransition("the call is already closed")
    petition.status = PetitionStatus.CLOSED
    petition.closed_at = now or utcnow()
    db.session.flush()


def reopen_call(petition: Petition) -> None:
    """Let a closed call take signatures again (until its closing date, if it has one)."""
    if petition.status is PetitionStatus.OPEN:
        raise InvalidTransition("the call is already open")
    if petition.purged_at is not None:
        raise InvalidTransition("the call's personal data was deleted after its campaign")
    petition.status = PetitionStatus.OPEN
    petition.closed_at = None
    db.session.flush()


def clean_markdown_text(value: str | None) -> str:
    """Multi-line text as typed: NFC, line ends as LF, tabs as spaces, blank ends trimmed.

    Unlike `signing.clean_text`, line breaks stay: they carry Markdown paragraphs and lists.
    """
    if value is None:
        return ""
    value = unicodedata.normalize("NFC", value)
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return value.strip()


@lru_cache(maxsize=1)
def timezone_names() -> list[str]:
    """The IANA time zones this machine knows, sorted."""
    return sorted(name for name in available_timezones() if "/" in name or name == "UTC")
