"""Dates and times as people read them: in the call's own time zone, named, never seconds.

Every date and time a page, a mail or a share image shows goes through here. Templates
use the filters create_app registers: `value|moment(petition)` ("Monday, October 14, 2030,
4:00 PM France Time"), `|moment(petition, "short")` in a table whose heading names the
zone (`zone_name(petition)`), `|day(petition)` and `|hour(petition)`. A call's times are
in its rally's zone; a call without a rally keeps no zone of its own, so UTC, named too.
Machine-readable times (the `datetime` attribute of <time>, the API, exports, .ics) stay
ISO 8601 and are not made here.
"""

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from babel import Locale
from babel.core import get_global
from babel.dates import format_datetime, tokenize_pattern
from flask_babel import get_locale

UTC = "UTC"
WIDTHS = ("full", "short")
# Territories CLDR gives zones that belong to no country (UTC, Etc/GMT+5...).
_NO_PLACE = {"ZZ", "001"}


def zone_of(where: object = None) -> str:
    """The zone key to show times in: a call's (its rally's, else UTC), a key, else UTC."""
    if isinstance(where, str):
        return where
    return getattr(where, "event_timezone", None) or UTC


def moment(
    value: datetime | str, where: object = None, width: str = "full", locale: object = None
) -> str:
    """A moment (aware, or ISO 8601) in the zone of `where`: "full" with the day's name and
    the zone's ("Monday, October 14, 2030, 4:00 PM France Time"), "short" the date and hour."""
    if width not in WIDTHS:
        raise ValueError(f"width must be one of {WIDTHS}")
    locale = _locale(locale)
    join = str(locale.datetime_formats["full" if width == "full" else "medium"])
    date = locale.date_formats["full" if width == "full" else "medium"].pattern
    time = _hour_pattern(locale, zone_of(where), named=width == "full")
    pattern = join.replace("{1}", date).replace("{0}", time)
    return _format(value, pattern, where, locale)


def day(
    value: datetime | str, where: object = None, width: str = "long", locale: object = None
) -> str:
    """The day a moment falls on in the zone of `where` ("October 14, 2030")."""
    locale = _locale(locale)
    return _format(value, locale.date_formats[width].pattern, where, locale)


def hour(value: datetime | str, where: object = None, locale: object = None) -> str:
    """The hour of a moment in the zone of `where`, the zone named ("4:00 PM France Time")."""
    locale = _locale(locale)
    return _format(value, _hour_pattern(locale, zone_of(where), named=True), where, locale)


def zone_name(where: object = None, locale: object = None) -> str:
    """The zone of `where` as the locale names it ("France Time", "heure : France")."""
    locale = _locale(locale)
    zone = zone_of(where)
    return format_datetime(datetime.now(ZoneInfo(zone)), _zone_field(zone), locale=locale)


def _format(value: datetime | str, pattern: str, where: object, locale: Locale) -> str:
    if isinstance(value, str):  # ISO 8601, as manifests keep their times
        value = datetime.fromisoformat(value)
    zone: tzinfo = ZoneInfo(zone_of(where))
    return format_datetime(value.astimezone(zone), pattern, tzinfo=zone, locale=locale)


def _hour_pattern(locale: Locale, zone: str, *, named: bool) -> str:
    """The locale's short hour (never seconds), followed by the zone where the locale's own
    full time pattern puts it ("h:mm a VVVV", "H:mm (VVVV)", "VVVV HH:mm")."""
    short = locale.time_formats["short"].pattern
    if not named:
        return short
    tokens = tokenize_pattern(locale.time_formats["full"].pattern)
    at = next((i for i, (kind, value) in enumerate(tokens) if _is_zone(kind, value)), None)
    field = _zone_field(zone)
    if at is None:
        return f"{short} {field}"
    before = _separator(tokens[at - 1]) if at > 0 else ""
    after = _separator(tokens[at + 1]) if at + 1 < len(tokens) else ""
    if at == 0:
        return f"{field}{after or ' '}{short}"
    return f"{short}{before or ' '}{field}{after}"


def _is_zone(kind: str, value: object) -> bool:
    return kind == "field" and value[0] in "zvVO"


def _separator(token: tuple) -> str:
    """The spaces and brackets around the zone, without the words of the seconds ("秒 ")."""
    kind, value = token
    if kind != "chars":
        return ""
    return "".join(char for char in value if not char.isalnum())


def _zone_field(zone: str) -> str:
    """VVVV names a zone by its place ("France Time"); a zone of no place (UTC) by its own
    name ("Coordinated Universal Time"), as VVVV would say "Unknown Region"."""
    key = get_global("zone_aliases").get(zone, zone)
    territory = get_global("zone_territories").get(key)
    return "zzzz" if territory is None or territory in _NO_PLACE else "VVVV"


def _locale(locale: object) -> Locale:
    if isinstance(locale, Locale):
        return locale
    return Locale.parse(str(locale or get_locale() or "en"))
