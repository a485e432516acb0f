"""Calls: content files (TOML front matter + Markdown), loading, rendering their text, and
their translations."""

import re
import tomllib
import unicodedata
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import audit
from .errors import DomainError, InvalidTransition
from .extensions import db
from .languages import is_language, primary_language
from .models import (
    ADDRESS_MAX,
    PLACE_MAX,
    SLUG_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Demand,
    DemandTranslation,
    Endorsement,
    Organizer,
    Petition,
    PetitionStatus,
    PetitionTranslation,
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


DEFAULT_LANGUAGE = "en"


@dataclass
class TranslationContent:
    """A call's text in another language than its own: a translation file, or the editor's."""

    language: str
    title: str
    summary: str = ""
    body: str = ""
    # One per demand of the call, in its order; "" leaves that demand untranslated.
    demands: list[str] = field(default_factory=list)


@dataclass
class CallContent:
    """A call as written in a content file."""

    slug: str
    title: str
    summary: str = ""
    body: str = ""
    demands: list[str] = field(default_factory=list)
    language: str = DEFAULT_LANGUAGE
    status: PetitionStatus = PetitionStatus.OPEN
    signature_goal: int | None = None
    closes_at: datetime | None = None
    collects_endorsements: bool = True
    event_starts_at: datetime | None = None
    event_timezone: str | None = None
    event_place: str | None = None
    event_address: str | None = None
    # Written with the call by `write_call`; translations it does not name are kept.
    translations: list[TranslationContent] = field(default_factory=list)


@lru_cache(maxsize=256)
def render_markdown(text: str) -> Markup:
    """A call's Markdown as safe HTML; an image from another site is shown as a link to it."""
    return Markup(_markdown.render(text))  # noqa: S704 - raw HTML is escaped by the preset


def is_foreign(address: str) -> bool:
    """Whether an address points to another site (a scheme, or `//host`)."""
    address = address.strip()
    return address.startswith("//") or bool(re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", address))


def _foreign_image_as_link(renderer, tokens, idx, options, env) -> str:
    # Loading another site's image tells it who reads the call, and when: a link does not.
    token = tokens[idx]
    source = token.attrGet("src") or ""
    if not is_foreign(source):
        return renderer.image(tokens, idx, options, env)
    text = renderer.renderInlineAsText(token.children or [], options, env) or source
    return f'<a href="{escapeHtml(source)}">{escapeHtml(text)}</a>'


_markdown.add_render_rule("image", _foreign_image_as_link)


def foreign_images(text: str) -> list[str]:
    """The addresses of images from other sites in a Markdown text."""
    return [
        image.attrGet("src") or ""
        for block in _markdown.parse(text)
        for image in (block.children or [])
        if image.type == "image" and is_foreign(image.attrGet("src") or "")
    ]


_INLINE_IMAGE = re.compile(r"!\[((?:[^\]\\]|\\.)*)\]\(\s*(<[^>]*>|[^)\s]*)")
_REFERENCE_IMAGE = re.compile(r"!\[((?:[^\]\\]|\\.)*)\](?:\[((?:[^\]\\]|\\.)*)\])?")


def without_foreign_images(text: str) -> str:
    """The Markdown with every image from another site turned into a plain link: what the API
    hands to other sites, where no policy of ours stops an image from loading."""
    if not foreign_images(text):
        return text
    env: dict = {}
    _markdown.parse(text, env)
    references = env.get("references", {})

    def inline(match: re.Match) -> str:
        return match.group(0)[1:] if is_foreign(match.group(2).strip("<>")) else match.group(0)

    def by_reference(match: re.Match) -> str:
        label = " ".join((match.group(2) or match.group(1)).split()).casefold().upper()
        target = references.get(label, {}).get("href", "")
        return match.group(0)[1:] if is_foreign(target) else match.group(0)

    rewritten = _REFERENCE_IMAGE.sub(by_reference, _INLINE_IMAGE.sub(inline, text))
    if foreign_images(rewritten):  # a form the patterns missed: every image becomes a link
        rewritten = text.replace("![", "\\![")
    return rewritten


def _front_matter(text: str) -> tuple[dict, str]:
    """A content file's TOML front matter and its Markdown body."""
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not match:
        raise ContentError("a content file starts with TOML front matter between +++ lines")
    try:
        meta = tomllib.loads(match.group(1))
    except tomllib.TOMLDecodeError as error:
        raise ContentError(f"front matter: {error}") from error
    body = match.group(2).strip()
    if foreign := foreign_images(body):
        raise ContentError(f"images from other sites are not shown: {foreign[0]}")
    return meta, body


def _text_field(meta: dict, name: str, limit: int, required: bool = False) -> str:
    value = meta.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ContentError(f"{name} must be a non-empty string")
    if len(value) > limit:
        raise ContentError(f"{name} is longer than {limit} characters")
    return value.strip()


def _slug_field(meta: dict) -> str:
    slug = _text_field(meta, "slug", SLUG_MAX, required=True)
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise ContentError("slug must be lower-case letters, digits and single hyphens")
    return slug


def _demands_field(meta: dict) -> list[str]:
    demands = meta.get("demands", [])
    if not isinstance(demands, list) or not all(isinstance(d, str) and d.strip() for d in demands):
        raise ContentError("demands must be a list of non-empty strings")
    return [d.strip() for d in demands]


def _language_field(meta: dict, default: str | None = None) -> str:
    language = meta.get("language", default)
    if not is_language(language):
        raise ContentError(f"language must be a language code such as fr, not {language!r}")
    return language


def parse_content(text: str) -> CallContent:
    """Read a content file: `+++` TOML front matter, then the Markdown body."""
    meta, body = _front_matter(text)

    def text_field(name: str, limit: int, required: bool = False) -> str:
        return _text_field(meta, name, limit, required)

    slug = _slug_field(meta)
    demands = _demands_field(meta)
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
        body=body,
        demands=demands,
        language=_language_field(meta, DEFAULT_LANGUAGE),
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
    """Add the call, or update the one with its slug; its signatures are never touched.

    What a content file loads (`petitions load`, the shipped calls): recorded in the audit
    log when it adds or changes anything.
    """
    petition = db.session.execute(
        select(Petition).filter_by(slug=content.slug)
    ).scalar_one_or_none()
    created = petition is None
    if petition is None:
        petition = Petition(slug=content.slug)
        db.session.add(petition)
        before = {}
    else:
        before = {**_call_state(petition), "translations": _translation_state(petition)}
    write_call(petition, content)
    after = {**_call_state(petition), "translations": _translation_state(petition)}
    changed = [name for name, value in after.items() if before.get(name) != value]
    if created or changed:
        audit.record("load_call", petition=petition, created=created, changed=changed)
    return petition, created


def _translation_state(petition: Petition) -> dict[str, "TranslationContent"]:
    return {
        row.language: translation_content(petition, row.language) for row in petition.translations
    }


def write_call(petition: Petition, content: CallContent) -> None:
    """Give a call the content's text, settings, demands and translations (the slug
    excepted); flush. Translations the content does not name are kept.

    Raises TranslationExists if the content's language is one the call is translated into.
    """
    if content.language != petition.language and any(
        translation.language == content.language for translation in petition.translations
    ):
        raise TranslationExists(content.language)
    for name in (
        "language",
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
    for translation in content.translations:
        write_translation(petition, translation)


def _replace_demands(petition: Petition, texts: list[str]) -> None:
    """Give the call these demands, in this order; a demand's translations follow its text.

    A demand moved to another place keeps its translations; an edited one loses them (they
    translate words it no longer has) and shows the call's own text in every language
    until someone translates it again.
    """
    before = [demand.text for demand in petition.demands]
    if before == texts:
        return
    translated = _demand_translations(petition)
    # Each old text's translations ({language: text}), in order for texts given twice.
    by_text: dict[str, deque[dict[str, str]]] = defaultdict(deque)
    for demand in petition.demands:
        rows = translated.get(demand.id, {})
        by_text[demand.text].append({language: row.text for language, row in rows.items()})
    # Rewritten in place, by position: deleting and re-inserting would trip
    # (petition, position) uniqueness.
    for position, text in enumerate(texts):
        if position < len(petition.demands):
            demand = petition.demands[position]
            demand.text = text
        else:
            demand = Demand(position=position, text=text)
            petition.demands.append(demand)
        wanted = by_text[text].popleft() if by_text.get(text) else {}
        _set_demand_translations(demand, translated.get(demand.id, {}), wanted)
    del petition.demands[len(texts) :]
    # Only the demand rows may have changed: the call's own row must still show that it did
    # (its updated_at keys the cached texts, see call_texts).
    petition.updated_at = utcnow()


def _demand_translations(
    petition: Petition, language: str | None = None
) -> dict[int, dict[str, DemandTranslation]]:
    """The call's demand translations, {demand id: {language: row}}, in one query."""
    if petition.id is None:
        return {}
    query = (
        select(DemandTranslation)
        .join(Demand, Demand.id == DemandTranslation.demand_id)
        .where(Demand.petition_id == petition.id)
    )
    if language is not None:
        query = query.where(DemandTranslation.language == language)
    rows: dict[int, dict[str, DemandTranslation]] = defaultdict(dict)
    for row in db.session.scalars(query):
        rows[row.demand_id][row.language] = row
    return rows


def _set_demand_translations(
    demand: Demand, current: dict[str, DemandTranslation], wanted: dict[str, str]
) -> None:
    """Make a demand's translations `wanted` ({language: text}), changing rows in place (a
    delete and an insert of one language would trip (demand, language) uniqueness)."""
    for language, row in current.items():
        if language in wanted:
            row.text = wanted[language]
        else:
            db.session.delete(row)
    for language, text in wanted.items():
        if language not in current:
            db.session.add(DemandTranslation(demand=demand, language=language, text=text))


# --- Content files: <name>.md is a call, <name>.<language>.md its translation ---


def translation_language(path: Path) -> str | None:
    """The <language> of a translation file <name>.<language>.md; None for a call's own file."""
    name, dot, language = path.name.removesuffix(".md").rpartition(".")
    return language if dot and name else None


def main_file(path: Path) -> Path:
    """The call's own file of a content file: itself, or <name>.md for <name>.<language>.md."""
    language = translation_language(path)
    if language is None:
        return path
    return path.with_name(path.name.removesuffix(f".{language}.md") + ".md")


def translation_files(path: Path) -> list[Path]:
    """The translation files beside a call's own file, by language."""
    return sorted(
        candidate
        for candidate in path.parent.glob("*.*.md")
        if translation_language(candidate) and main_file(candidate) == path
    )


TRANSLATION_KEYS = {"slug", "language", "title", "summary", "demands"}


def parse_translation(text: str, call: CallContent) -> TranslationContent:
    """Read a translation file of `call`: front matter with its slug, language, title,
    summary and demands (as many as the call's, in its order), then the Markdown body."""
    meta, body = _front_matter(text)
    others = sorted(set(meta) - TRANSLATION_KEYS)
    if others:
        raise ContentError(
            f"a translation has only {', '.join(sorted(TRANSLATION_KEYS))}; "
            f"{', '.join(others)} belong(s) in the call's own file"
        )
    slug = _slug_field(meta)
    if slug != call.slug:
        raise ContentError(f"slug {slug!r}: no call file has it beside this translation")
    language = _language_field(meta)
    if language == call.language:
        raise ContentError(f"language {language!r} is the call's own: a translation is in another")
    demands = _demands_field(meta)
    if len(demands) != len(call.demands):
        raise ContentError(
            f"{len(demands)} demands where the call has {len(call.demands)}: "
            "translate each demand, in the call's order"
        )
    return TranslationContent(
        language=language,
        title=_text_field(meta, "title", TITLE_MAX, required=True),
        summary=_text_field(meta, "summary", SUMMARY_MAX),
        body=body,
        demands=demands,
    )


def read_call_files(path: Path) -> CallContent:
    """A call's own content file with the translation files beside it."""
    content = parse_content(path.read_text(encoding="utf-8-sig"))
    for translation_path in translation_files(path):
        try:
            translation = parse_translation(translation_path.read_text("utf-8-sig"), content)
            if translation.language != translation_language(translation_path):
                raise ContentError(
                    f"language {translation.language!r} differs from the file name's"
                )
        except ContentError as error:
            raise ContentError(f"{translation_path.name}: {error}") from error
        content.translations.append(translation)
    return content


def load_call_file(path: Path) -> tuple[Petition, bool]:
    """Add or update the call of a content file, with its translations.

    Given a translation file, the call's own file beside it is loaded with all its
    translations: a translation is never loaded apart from the text it translates.
    """
    own = main_file(path)
    if not own.is_file():
        raise ContentError(f"a translation, but there is no call file {own.name} beside it")
    content = read_call_files(own)
    try:
        return save_call(content)
    except TranslationExists as error:
        raise ContentError(
            f"the call is translated into {content.language!r}, the language this file "
            "gives as its own: delete that translation first"
        ) from error


def shipped_calls() -> list[CallContent]:
    """The calls in CONTENT_DIRECTORY, with their translations."""
    paths = sorted(CONTENT_DIRECTORY.glob("*.md"))
    calls = []
    for path in paths:
        if not main_file(path).is_file():
            raise ContentError(f"{path.name}: a translation without a call file beside it")
        if translation_language(path) is None:
            try:
                calls.append(read_call_files(path))
            except ContentError as error:
                raise ContentError(f"{path.name}: {error}") from error
    return calls


def load_shipped_calls() -> list[Petition]:
    """Add the calls shipped with the service that the database does not have yet."""
    added = []
    for content in shipped_calls():
        exists = db.session.execute(select(Petition.id).filter_by(slug=content.slug)).first()
        if not exists:
            added.append(save_call(content)[0])
    return added


def add_shipped_translations() -> list[tuple[str, str]]:
    """Give the calls the database already has the shipped translations they lack, as
    (slug, language); what organizers wrote is never overwritten.

    A shipped demand translation is used where the stored demand still has the words it
    translates: the others show the call's own text until translated in the editor.
    """
    added = []
    for content in shipped_calls():
        petition = db.session.execute(
            select(Petition).filter_by(slug=content.slug)
        ).scalar_one_or_none()
        if petition is None or petition.language != content.language:
            continue
        have = {translation.language for translation in petition.translations}
        for translation in content.translations:
            if translation.language in have:
                continue
            by_text = dict(zip(content.demands, translation.demands, strict=True))
            demands = [by_text.get(demand.text, "") for demand in petition.demands]
            write_translation(petition, replace(translation, demands=demands))
            added.append((petition.slug, translation.language))
    return added


# --- A call in a language: what the public pages, mails and the API show ---


@dataclass(frozen=True)
class CallText:
    """A call's words in one language, with the languages it exists in."""

    language: str  # of these words
    own_language: str  # the call's own; the others are translations
    languages: tuple[str, ...]  # the call's own first, then its translations by code
    title: str
    summary: str
    markdown: str  # the body as written
    body: Markup  # the body rendered
    demands: tuple[str, ...]  # in the call's order; an untranslated one in the call's language
    untranslated: frozenset[int] = frozenset()  # positions of the demands in the own language


# The texts of this many calls (all their languages) are kept per process.
CALL_TEXTS_KEPT = 256


def call_text(petition: Petition, *preferred: str | None) -> CallText:
    """The call in the first of the preferred languages it exists in, else in its own.

    A language is a code ("fr") or a browser's or Babel's tag ("fr-FR", "fr_CA"); None is
    skipped. See `call_texts` for what is read.
    """
    return call_texts([petition], *preferred)[petition.id]


def call_texts(petitions: Iterable[Petition], *preferred: str | None) -> dict[int, CallText]:
    """`call_text` of several calls, by id: three queries for the lot, or none at all.

    Every language of a call is kept in this process until the call changes: its updated_at
    moves with every change of its text, demands and translations (see write_call and
    write_translation), and it comes with the call's row, which the page reads anyway.
    """
    cache = current_app.extensions.setdefault("petition.call_texts", {})
    petitions = list(petitions)
    found: dict[int, dict[str, CallText]] = {}
    missing = []
    for petition in petitions:
        texts = cache.get((petition.id, petition.updated_at))
        if texts is None:
            missing.append(petition)
        else:
            found[petition.id] = texts
    if missing:
        if len(cache) + len(missing) > CALL_TEXTS_KEPT:
            cache.clear()  # old versions of edited calls go too
        for petition, texts in _read_call_texts(missing).items():
            cache[(petition.id, petition.updated_at)] = found[petition.id] = texts
    wanted = [primary_language(tag) for tag in preferred]
    chosen = {}
    for petition in petitions:
        texts = found[petition.id]
        language = next((code for code in wanted if code in texts), petition.language)
        chosen[petition.id] = texts[language]
    return chosen


def _read_call_texts(petitions: list[Petition]) -> dict[Petition, dict[str, CallText]]:
    """Every language of these calls from the database: {call: {language: text}}."""
    ids = [petition.id for petition in petitions]
    translations: dict[int, list[PetitionTranslation]] = defaultdict(list)
    for row in db.session.scalars(
        select(PetitionTranslation)
        .where(PetitionTranslation.petition_id.in_(ids))
        .order_by(PetitionTranslation.language)
    ):
        translations[row.petition_id].append(row)
    demands: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for demand_id, petition_id, text in db.session.execute(
        select(Demand.id, Demand.petition_id, Demand.text)
        .where(Demand.petition_id.in_(ids))
        .order_by(Demand.petition_id, Demand.position)
    ):
        demands[petition_id].append((demand_id, text))
    demand_texts: dict[tuple[int, str], str] = {}
    if translations:
        for demand_id, language, text in db.session.execute(
            select(DemandTranslation.demand_id, DemandTranslation.language, DemandTranslation.text)
            .join(Demand, Demand.id == DemandTranslation.demand_id)
            .where(Demand.petition_id.in_(list(translations)))
        ):
            demand_texts[(demand_id, language)] = text

    texts = {}
    for petition in petitions:
        own = petition.language
        languages = (own, *(row.language for row in translations[petition.id]))
        own_demands = demands[petition.id]
        versions = {
            own: CallText(
                language=own,
                own_language=own,
                languages=languages,
                title=petition.title,
                summary=petition.summary,
                markdown=petition.body,
                body=render_markdown(petition.body),
                demands=tuple(text for _, text in own_demands),
            )
        }
        for row in translations[petition.id]:
            found = [demand_texts.get((demand_id, row.language)) for demand_id, _ in own_demands]
            versions[row.language] = CallText(
                language=row.language,
                own_language=own,
                languages=languages,
                title=row.title,
                summary=row.summary,
                markdown=row.body,
                body=render_markdown(row.body),
                demands=tuple(
                    text if text is not None else own_text
                    for text, (_, own_text) in zip(found, own_demands, strict=True)
                ),
                untranslated=frozenset(i for i, text in enumerate(found) if text is None),
            )
        texts[petition] = versions
    return texts


# --- Translations, from content files and the organizers' workspace (views/calls.py) ---


class TranslationError(DomainError):
    """A translation the call cannot have."""


class OwnLanguage(TranslationError):
    """The call is written in this language: a translation is in another."""


class TranslationExists(TranslationError):
    """The call already has a translation in this language."""


class UnknownLanguage(TranslationError):
    """Not a language code Babel knows."""


# What a translation has, in the order the audit log lists it.
TRANSLATION_FIELDS = ("title", "summary", "body", "demands")


def find_translation(petition: Petition, language: str) -> PetitionTranslation | None:
    """The call's translation into this language, if it has one."""
    return next((row for row in petition.translations if row.language == language), None)


def add_translation(petition: Petition, translation: TranslationContent) -> list[str]:
    """Give the call a translation into a language it does not exist in yet; flush.

    Raises OwnLanguage, TranslationExists (also when someone added it a moment ago) or
    UnknownLanguage. Returns the fields given a value.
    """
    if find_translation(petition, translation.language) is not None:
        raise TranslationExists(translation.language)
    try:
        given = write_translation(petition, translation)
    except IntegrityError as error:  # the same language, added a moment ago
        raise TranslationExists(translation.language) from error
    audit.record("add_translation", petition=petition, language=translation.language, changed=given)
    return given


def edit_translation(petition: Petition, translation: TranslationContent) -> list[str]:
    """Change the call's translation into `translation.language` (the editor); flush.

    Returns the changed field names, recorded in the audit log if any.
    """
    changed = write_translation(petition, translation)
    if changed:
        audit.record(
            "edit_translation", petition=petition, language=translation.language, changed=changed
        )
    return changed


def write_translation(petition: Petition, translation: TranslationContent) -> list[str]:
    """Add or change the call's translation into `translation.language`; flush.

    Its demands go with the call's demands by position; an empty one leaves that demand
    untranslated. Raises OwnLanguage or UnknownLanguage; returns the changed field names.
    """
    language = translation.language
    if not is_language(language):
        raise UnknownLanguage(language)
    if language == petition.language:
        raise OwnLanguage(language)
    if len(translation.demands) > len(petition.demands):
        raise ValueError("more translated demands than the call has demands")
    row = find_translation(petition, language)
    if row is None:
        row = PetitionTranslation(language=language, title="", summary="", body="")
        petition.translations.append(row)
    changed = [
        name
        for name in ("title", "summary", "body")
        if getattr(row, name) != getattr(translation, name)
    ]
    for name in changed:
        setattr(row, name, getattr(translation, name))
    current = _demand_translations(petition, language)
    texts = [*translation.demands, *[""] * (len(petition.demands) - len(translation.demands))]
    before = [current.get(demand.id, {}).get(language) for demand in petition.demands]
    if [row.text if row else "" for row in before] != texts:
        changed.append("demands")
        for demand, text in zip(petition.demands, texts, strict=True):
            _set_demand_translations(
                demand, current.get(demand.id, {}), {language: text} if text else {}
            )
    if changed:
        petition.updated_at = utcnow()  # see call_texts
    db.session.flush()
    return changed


def delete_translation(petition: Petition, language: str) -> None:
    """Remove the call's translation into this language, its demands' with it; flush."""
    row = find_translation(petition, language)
    if row is None:
        raise LookupError(language)
    for translations in _demand_translations(petition, language).values():
        for demand_translation in translations.values():
            db.session.delete(demand_translation)
    petition.translations.remove(row)
    petition.updated_at = utcnow()  # see call_texts
    db.session.flush()
    audit.record("delete_translation", petition=petition, language=language)


def translation_content(petition: Petition, language: str) -> TranslationContent:
    """A stored translation in the shape the editor and content files use."""
    row = find_translation(petition, language)
    if row is None:
        raise LookupError(language)
    current = _demand_translations(petition, language)
    demands = [
        current[demand.id][language].text if demand.id in current else ""
        for demand in petition.demands
    ]
    return TranslationContent(
        language=language, title=row.title, summary=row.summary, body=row.body, demands=demands
    )


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
    "language",
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
    audit.record("create_call", petition=petition, organizer=organizer, changed=given)
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
    changed = [name for name in EDITABLE_FIELDS if before[name] != after[name]]
    if changed:
        audit.record("edit_call", petition=petition, changed=changed)
    return changed


def close_call(petition: Petition, now: datetime | None = None) -> None:
    """Stop the call taking signatures now."""
    if petition.status is PetitionStatus.CLOSED:
        raise InvalidTransition("the call is already closed")
    petition.status = PetitionStatus.CLOSED
    petition.closed_at = now or utcnow()
    db.session.flush()
    audit.record("close_call", petition=petition, changed=["status", "closed_at"])


def reopen_call(petition: Petition) -> None:
    """Let a closed call take signatures again (until its closing date, if it has one)."""
    if petition.status is PetitionStatus.OPEN:
        raise InvalidTransition("the call is already open")
    if petition.purged_at is not None:
        raise InvalidTransition("the call's personal data was deleted after its campaign")
    petition.status = PetitionStatus.OPEN
    petition.closed_at = None
    db.session.flush()
    audit.record("reopen_call", petition=petition, changed=["status", "closed_at"])


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
