"""Languages a call can be written in: the codes Babel (CLDR) knows, and their names."""

from functools import cache

from babel import Locale, UnknownLocaleError
from babel.localedata import locale_identifiers


@cache
def language_codes() -> frozenset[str]:
    """Two- or three-letter language codes (ISO 639) that Babel has data for: "fr", "ar"..."""
    # Languages, not regional variants: a translation in "pt" serves Portugal and Brazil.
    return frozenset(code for code in locale_identifiers() if "_" not in code)


def is_language(code: object) -> bool:
    """Whether a call can be written in this language."""
    return isinstance(code, str) and code in language_codes()


def primary_language(tag: str | None) -> str | None:
    """The language of a browser's tag or a Babel locale: "fr-FR", "fr_CA", "FR" -> "fr"."""
    if not tag:
        return None
    return tag.replace("_", "-").split("-", 1)[0].lower() or None


def direction(code: object) -> str:
    """The direction a language is written in, for `dir`: "rtl" (Arabic...) or "ltr"."""
    try:
        order = Locale.parse(str(code or "en")).character_order
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


def language_name(code: str, locale: str = "en") -> str:
    """A language's name as written in a sentence in the reader's language ("French" in
    English, "français" in French), or its code."""
    try:
        return Locale.parse(code).get_display_name(Locale.parse(locale)) or code
    except (UnknownLocaleError, ValueError):
        return code


def language_label(code: str, locale: str = "en") -> str:
    """A language's name as a list or a menu shows it: with a capital ("Français")."""
    name = language_name(code, locale)
    return name[:1].upper() + name[1:]


def own_name(code: str) -> str:
    """A language's name in that language ("Français"), as language menus show it."""
    return language_label(code, code)


@cache
def language_choices(locale: str) -> tuple[tuple[str, str], ...]:
    """(code, "Name (code)") of every language, sorted by name in the reader's language."""
    pairs = [(code, language_label(code, locale)) for code in language_codes()]
    pairs.sort(key=lambda pair: (pair[1].casefold(), pair[0]))
    return tuple((code, f"{name} ({code})") for code, name in pairs)
