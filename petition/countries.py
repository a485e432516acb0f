"""Countries: ISO 3166-1 alpha-2 codes with names from Babel (CLDR) in the reader's language."""

import unicodedata
from functools import cache

from babel import Locale

# CLDR territories that are not ISO 3166-1 countries: regions, groupings,
# exceptional reservations and private-use codes. Kosovo (XK) stays: it is in
# common use (EU, Council of Europe) though not yet assigned by ISO.
_NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)


@cache
def country_codes() -> frozenset[str]:
    """The codes a signer may choose."""
    territories = Locale("en").territories
    return frozenset(
        code
        for code in territories
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    )


def _sort_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def country_choices(locale: str) -> tuple[tuple[str, str], ...]:
    """(code, name) pairs sorted by name in the given language."""
    names = Locale.parse(locale).territories
    pairs = [(code, names.get(code, code)) for code in country_codes()]
    return tuple(sorted(pairs, key=lambda pair: _sort_key(pair[1])))


def country_name(code: str, locale: str = "en") -> str:
    """The name of a country in the given language, or the code if unknown."""
    return Locale.parse(locale).territories.get(code, code)
