"""Calls: content files (TOML front matter + Markdown), loading, rendering their text."""

import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import select

from .extensions import db
from .models import (
    ADDRESS_MAX,
    PLACE_MAX,
    SLUG_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Demand,
    Petition,
    PetitionStatus,
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
    return petition, created


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
