"""A call's rally as an iCalendar (RFC 5545) file that calendar apps can import."""

from datetime import timedelta

from icalendar import Calendar, Event

from .models import Petition
from .petitions import CallText

# The model stores no end time: calendars show the rally as lasting this long.
RALLY_DURATION = timedelta(hours=2)
PRODUCT_ID = "-//Petition//Rally calendar//EN"


def rally_calendar(petition: Petition, text: CallText, *, page_url: str, host: str) -> bytes:
    """The .ics of the call's rally: one VEVENT in the rally's time zone, with its VTIMEZONE,
    named and described with the call's `text` (in the reader's language)."""
    start = petition.event_local_start
    if start is None:
        raise ValueError(f"call {petition.slug} has no rally")
    event = Event()
    # Keyed on the id, not the slug: a renamed call stays the same event in calendars.
    event.add("uid", f"rally-{petition.id}@{host}")
    # Without a METHOD, DTSTAMP is when the event was last revised (RFC 5545 3.8.7.2).
    event.add("dtstamp", petition.updated_at)
    event.add("dtstart", start)
    event.add("dtend", start + RALLY_DURATION)
    language = {"LANGUAGE": text.language}
    event.add("summary", text.title, parameters=language)
    location = ", ".join(part for part in (petition.event_place, petition.event_address) if part)
    if location:
        event.add("location", location)
    event.add("url", page_url)
    description = "\n\n".join(part for part in (text.summary, page_url) if part)
    event.add("description", description, parameters=language)

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add_component(event)
    # The zone's rules around the rally only: the whole 1970-2038 history is 4 kB.
    calendar.add_missing_timezones(
        first_date=start.date() - timedelta(days=366), last_date=start.date() + timedelta(days=366)
    )
    return calendar.to_ical()
