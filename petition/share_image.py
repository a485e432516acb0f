"""A call's share image: the 1200x630 PNG that link previews show, drawn with Pillow.

What the image says is a `ShareCard` (title, rally, site name, the action, in one language);
the drawing is cached per process on the card itself, so any change that shows (an edited
title, a translation, the call closing, the rally passing) draws a new image.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont, features

from . import times
from .languages import direction
from .models import Petition, utcnow
from .petitions import call_text

WIDTH, HEIGHT = 1200, 630
STATIC = Path(__file__).resolve().parent.parent / "static"
FONTS = STATIC / "fonts"
REGULAR = "DejaVuSans.ttf"
BOLD = "DejaVuSans-Bold.ttf"
DEFAULT_IMAGE = STATIC / "img" / "share.png"

# The site's colors (static/css/site.css): dark ink and the accent on white, both above 7:1.
INK = "#1b1b1b"
MUTED = "#555555"
PAPER = "#ffffff"
ACCENT = "#a3001b"
ACCENT_INK = "#ffffff"

MARGIN = 64
BAND_HEIGHT = 124  # the action's band along the bottom
TITLE_SIZES = range(84, 43, -4)  # the largest that fits; below 44 px a phone's thumbnail blurs
TITLE_MAX_LINES = 5
ELLIPSIS = "…"

# Arabic needs shaping (joined letter forms) and bidi reordering, which only Pillow's raqm
# layout does. Without raqm the card is drawn in a left-to-right language the call is
# written in, never as broken Arabic.
SHAPING = features.check("raqm")


@dataclass(frozen=True)
class ShareCard:
    """What one call's share image says, in one language: also the key of its cached drawing."""

    language: str
    right_to_left: bool
    shaping: bool
    site_name: str
    title: str
    rally_label: str
    rally_when: str
    rally_where: str
    action: str


@dataclass(frozen=True)
class ShareImage:
    """A drawn share image and its entity tag."""

    png: bytes
    etag: str


def share_languages(petition: Petition) -> set[str]:
    """The languages a call's share image can be asked for: the interface's and the call's."""
    return set(current_app.config["LANGUAGES"]) | set(call_text(petition).languages)


def share_image(petition: Petition, language: str) -> ShareImage:
    """The call's share image in this language (drawn once per process and card)."""
    card = share_card(petition, language)
    if card is None:
        return default_image()
    return draw_share_card(card)


def share_card(petition: Petition, language: str) -> ShareCard | None:
    """What the image says in this language, or in a left-to-right one the call is written
    in when this Pillow cannot shape the language's script; None when nothing can be drawn."""
    candidates = [language]
    if not SHAPING:
        candidates += call_text(petition).languages  # its own language first
    for candidate in candidates:
        # The title in this language if the call has it, else in the call's own.
        title = call_text(petition, candidate).title
        if SHAPING or not (_right_to_left(candidate) or _needs_shaping(title)):
            return _compose(petition, candidate, title)
    return None


def _compose(petition: Petition, language: str, title: str) -> ShareCard:
    """The card's texts in one language; what this Pillow could not draw is left out."""
    with force_locale(language):
        site_name = current_app.config.get("SITE_NAME") or _("Calls and petitions")
        action = _("Sign the call") if petition.is_open() else _("Read the call")
        rally_label = rally_when = rally_where = ""
        start = petition.event_local_start
        if start is not None:
            past = petition.event_starts_at < utcnow()
            rally_label = _("The rally took place") if past else _("Rally")
            rally_when = times.moment(start, petition, locale=_locale(language))
            rally_where = petition.event_place or ""

    def drawable(text: str) -> str:
        return "" if not SHAPING and _needs_shaping(text) else text

    return ShareCard(
        language=language,
        right_to_left=_right_to_left(language),
        shaping=SHAPING,
        site_name=drawable(site_name),
        title=title,
        rally_label=rally_label,
        rally_when=drawable(rally_when),
        rally_where=drawable(rally_where),
        action=action,
    )


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def _right_to_left(language: str) -> bool:
    return direction(language) == "rtl"


def _needs_shaping(text: str) -> bool:
    """Whether the text has right-to-left letters (Arabic, Hebrew...): raqm draws them."""
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


@lru_cache(maxsize=1)
def default_image() -> ShareImage:
    """The site's own image (static/img/share.png), for a call nothing can be drawn of."""
    png = DEFAULT_IMAGE.read_bytes()
    return ShareImage(png=png, etag=_etag(png))


def _etag(png: bytes) -> str:
    return hashlib.sha256(png).hexdigest()[:32]


# --- Drawing -------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def draw_share_card(card: ShareCard) -> ShareImage:
    """The card drawn as a 1200x630 PNG (kept for the 64 cards drawn last in this process)."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    pen = _Pen(ImageDraw.Draw(canvas), card)
    inner = WIDTH - 2 * MARGIN

    canvas.paste(ACCENT, (0, 0, WIDTH, 12))
    top = 56
    if site_name := pen.fit_line(card.site_name, REGULAR, 34, inner):
        pen.line(site_name, REGULAR, 34, top, MUTED)
    top += 34 + 40

    # The rally's lines sit above the band; the title takes the room left between.
    band_top = HEIGHT - BAND_HEIGHT
    rally = [
        (card.rally_label, BOLD, ACCENT),
        (card.rally_when, REGULAR, INK),
        (card.rally_where, REGULAR, INK),
    ]
    rally = [(text, font, color) for text, font, color in rally if text]
    rally_size, rally_step = 32, 44
    rally_top = band_top - 32 - rally_step * len(rally)
    for index, (text, font, color) in enumerate(rally):
        fitted = pen.fit_line(text, font, rally_size, inner)
        pen.line(fitted, font, rally_size, rally_top + index * rally_step, color)

    title_bottom = (rally_top - 24) if rally else (band_top - 40)
    size, lines = pen.fit_title(card.title, inner, title_bottom - top)
    step = round(size * 1.18)
    for index, text in enumerate(lines):
        pen.line(text, BOLD, size, top + index * step, INK)

    canvas.paste(ACCENT, (0, band_top, WIDTH, HEIGHT))
    action = pen.fit_line(card.action, BOLD, 52, inner)
    pen.line(action, BOLD, 52, band_top + BAND_HEIGHT // 2, ACCENT_INK, middle=True)

    out = BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    return ShareImage(png=png, etag=_etag(png))


@lru_cache(maxsize=64)
def _font(name: str, size: int, shaping: bool) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if shaping else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(FONTS / name), size, layout_engine=engine)


@lru_cache(maxsize=1)
def _missing_glyph(name: str) -> bytes:
    """How the font draws a character it does not have (its empty box)."""
    return _glyph_bitmap(name, "\U0010fffd")


@lru_cache(maxsize=8192)
def _glyph_bitmap(name: str, char: str) -> bytes:
    """A digest of how the font draws the character alone (kept small: many are kept)."""
    cell = Image.new("L", (80, 80))
    ImageDraw.Draw(cell).text((16, 8), char, font=_font(name, 40, False), fill=255)
    return hashlib.blake2b(cell.tobytes(), digest_size=16).digest()


def _has_glyph(name: str, char: str) -> bool:
    if unicodedata.category(char) in ("Mn", "Me", "Zs"):
        return True  # marks and spaces draw nothing alone: keep them
    return _glyph_bitmap(name, char) != _missing_glyph(name)


class _Pen:
    """Draws lines of text on the card from its start edge (the right one in Arabic)."""

    def __init__(self, draw: ImageDraw.ImageDraw, card: ShareCard):
        self.draw = draw
        self.card = card
        self.x = WIDTH - MARGIN if card.right_to_left else MARGIN

    def _options(self) -> dict:
        # The language picks locale forms in raqm; each line finds its own direction, so an
        # English title on an Arabic card still reads left to right.
        return {"language": self.card.language} if self.card.shaping else {}

    def clean(self, text: str, font: str) -> str:
        """The text on one line, without characters the font lacks (no empty boxes)."""
        kept = []
        for char in text:
            kind = unicodedata.category(char)
            if kind == "Cc":  # line breaks and tabs
                kept.append(" ")
            elif kind == "Cf":  # joiners and direction marks: only raqm uses them
                kept.append(char if self.card.shaping else "")
            elif _has_glyph(font, char):
                kept.append(char)
        return re.sub(" {2,}", " ", "".join(kept)).strip()

    def width(self, text: str, font: str, size: int) -> float:
        return _font(font, size, self.card.shaping).getlength(text, **self._options())

    def line(self, text: str, font: str, size: int, y: int, color: str, middle=False) -> None:
        """One line at height y (its top, or its middle), aligned on the start edge."""
        if not text:
            return
        anchor = ("r" if self.card.right_to_left else "l") + ("m" if middle else "a")
        face = _font(font, size, self.card.shaping)
        self.draw.text((self.x, y), text, font=face, fill=color, anchor=anchor, **self._options())

    def fit_line(self, text: str, font: str, size: int, width: int) -> str:
        """The text cleaned and, if too wide, cut short with an ellipsis."""
        text = self.clean(text, font)
        return self._cut(text, font, size, width) if text else ""

    def _cut(self, text: str, font: str, size: int, width: int, cut=False) -> str:
        """The text, or as much of it as fits followed by an ellipsis (always when cut)."""
        if not cut and self.width(text, font, size) <= width:
            return text
        while text and self.width(text + ELLIPSIS, font, size) > width:
            text = text[:-1].rstrip()
        return text + ELLIPSIS

    def fit_title(self, title: str, width: int, height: int) -> tuple[int, list[str]]:
        """The largest size at which the wrapped title fits; at the smallest, cut short."""
        title = self.clean(title, BOLD)
        for size in TITLE_SIZES:
            lines = self._wrap(title, size, width)
            fits = len(lines) * round(size * 1.18) <= height
            if fits and len(lines) <= TITLE_MAX_LINES:
                return size, lines
        size = TITLE_SIZES[-1]
        room = max(1, min(TITLE_MAX_LINES, height // round(size * 1.18)))
        lines = self._wrap(title, size, width)
        if len(lines) > room:
            lines = lines[:room]
            lines[-1] = self._cut(lines[-1], BOLD, size, width, cut=True)
        return size, lines

    def _wrap(self, text: str, size: int, width: int) -> list[str]:
        """Words on lines no wider than width; a word wider than a line is split."""
        lines: list[str] = []
        current = ""
        for word in text.split(" "):  # not at no-break spaces
            while self.width(word, BOLD, size) > width:  # a URL, or a script without spaces
                head = self._longest_start(word, size, width)
                if current:
                    lines.append(current)
                    current = ""
                lines.append(head)
                word = word[len(head) :]
            candidate = f"{current} {word}" if current else word
            if current and self.width(candidate, BOLD, size) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        if current:
            lines.append(current)
        return lines

    def _longest_start(self, word: str, size: int, width: int) -> str:
        """The longest start of the word that fits the width (one character at least)."""
        low, high = 1, len(word)
        while low < high:
            middle = (low + high + 1) // 2
            if self.width(word[:middle], BOLD, size) <= width:
                low = middle
            else:
                high = middle - 1
        return word[:low]
