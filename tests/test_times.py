"""Dates and times as people read them: a call's in its zone, the zone named, never seconds."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from petition import moderation, petitions, retention, signing, times
from petition.extensions import db
from petition.models import utcnow
from petition.petitions import TranslationContent

from .conftest import log_in, signature_fields
from .test_moderation import text_of

ROOT = Path(__file__).resolve().parents[1]
RALLY = datetime(2030, 10, 14, 14, 0, tzinfo=UTC)  # the factory's: 16:00 in Paris
CLOSING = datetime(2027, 6, 30, 21, 59, tzinfo=UTC)  # 23:59 in Paris, summer time
# A time of day with its seconds, in Latin or Arabic-Indic digits.
WITH_SECONDS = re.compile(r"[0-9٠-٩]{1,2}[:.][0-9٠-٩]{2}[:.][0-9٠-٩]{2}")


class Paris:
    event_timezone = "Europe/Paris"


class NoRally:
    event_timezone = None


@pytest.mark.parametrize(
    ("language", "paris", "utc"),
    [
        (
            "en",
            "Wednesday, June 30, 2027, 11:59\u202fPM France Time",
            "Wednesday, June 30, 2027, 9:59\u202fPM Coordinated Universal Time",
        ),
        (
            "fr",
            "mercredi 30 juin 2027, 23:59 heure : France",
            "mercredi 30 juin 2027, 21:59 temps universel coordonné",
        ),
        (
            "ar",
            "الأربعاء، 30 يونيو 2027، 11:59 م توقيت فرنسا",
            "الأربعاء، 30 يونيو 2027، 9:59 م التوقيت العالمي المنسق",
        ),
    ],
)
def test_a_moment_is_read_in_the_call_s_zone_named_without_seconds(app, language, paris, utc):
    assert times.moment(CLOSING, Paris, locale=language) == paris
    assert times.moment(CLOSING, NoRally, locale=language) == utc
    assert times.moment(CLOSING, "UTC", locale=language) == utc
    assert not WITH_SECONDS.search(times.moment(CLOSING + timedelta(seconds=31), Paris))


def test_the_short_form_day_and_hour(app):
    assert times.moment(CLOSING, Paris, "short", locale="en") == "Jun 30, 2027, 11:59\u202fPM"
    assert times.moment(CLOSING, Paris, "short", locale="fr") == "30 juin 2027, 23:59"
    assert times.day(CLOSING + timedelta(hours=1), Paris, locale="en") == "July 1, 2027"
    assert times.day(CLOSING + timedelta(hours=1), NoRally, locale="en") == "June 30, 2027"
    assert times.hour(RALLY, Paris, locale="fr") == "16:00 heure : France"
    assert times.zone_name(Paris, locale="ar") == "توقيت فرنسا"
    assert times.zone_name(None, locale="en") == "Coordinated Universal Time"
    with pytest.raises(ValueError):
        times.moment(CLOSING, Paris, "medium")


@pytest.mark.parametrize(
    ("language", "closing", "rally"),
    [
        (
            "en",
            "Open for signatures until Wednesday, June 30, 2027, 11:59 PM France Time.",
            "Monday, October 14, 2030, 4:00 PM France Time",
        ),
        (
            "fr",
            "jusqu'au mercredi 30 juin 2027, 23:59 heure : France.",
            "lundi 14 octobre 2030, 16:00 heure : France",
        ),
        (
            "ar",
            "الأربعاء، 30 يونيو 2027، 11:59 م توقيت فرنسا",
            "الاثنين، 14 أكتوبر 2030، 4:00 م توقيت فرنسا",
        ),
    ],
)
def test_the_call_page_shows_its_closing_and_its_rally_in_the_rally_s_zone(
    client, make_petition, language, closing, rally
):
    petition = make_petition(closes_at=CLOSING)
    page = client.get(f"/p/{petition.slug}", headers={"Accept-Language": language})
    text = text_of(page).replace("\u202f", " ")
    assert closing in text
    assert rally in text
    assert "UTC" not in text
    assert not WITH_SECONDS.search(text)
    # Machines still get the exact moment.
    assert 'datetime="2030-10-14T16:00:00+02:00"' in page.text


def test_a_call_without_a_rally_names_utc(client, make_petition):
    petition = make_petition(
        closes_at=CLOSING,
        event_starts_at=None,
        event_timezone=None,
        event_place=None,
        event_address=None,
    )
    text = text_of(client.get(f"/p/{petition.slug}")).replace("\u202f", " ")
    assert "until Wednesday, June 30, 2027, 9:59 PM Coordinated Universal Time." in text


def test_the_rally_on_the_sign_form_names_its_zone(client, petition):
    text = text_of(client.get(f"/p/{petition.slug}/sign")).replace("\u202f", " ")
    assert "I will attend the rally on Monday, October 14, 2030 at 4:00 PM France Time" in text


def test_no_page_shows_seconds_and_a_call_s_pages_name_its_zone(
    app, client, organizer, make_petition
):
    """Every page with a date or time, public and workspace, in each language."""
    petition = make_petition(closes_at=CLOSING)
    petitions.write_translation(
        petition, TranslationContent(language="fr", title="Ouvrir", demands=["A", "B"])
    )
    seconds_later = utcnow().replace(second=42)
    signature = signing.sign(petition, **signature_fields(), now=seconds_later)
    signing.confirm(signature, now=seconds_later)
    moderation.invalidate(signature, "spam")
    db.session.commit()
    log_in(client, organizer)
    assert client.get(f"/organizer/p/{petition.slug}/exports/download?who=individuals")
    manifest_id = db.session.execute(db.text("SELECT MAX(id) FROM export_manifest")).scalar()
    closed = make_petition()
    closed.purge_after_days = 30
    petitions.close_call(closed)
    db.session.commit()

    pages = [
        f"/p/{petition.slug}",
        f"/p/{petition.slug}/sign",
        f"/p/{petition.slug}/embed",
        "/organizer/",
        f"/organizer/p/{petition.slug}",
        f"/organizer/p/{petition.slug}/campaign",
        f"/organizer/p/{petition.slug}/signatures?status=invalid",
        f"/organizer/signatures/{signature.id}",
        f"/organizer/p/{petition.slug}/edit",
        f"/organizer/p/{closed.slug}/edit",
        f"/organizer/p/{closed.slug}",
        f"/organizer/p/{petition.slug}/exports",
        f"/organizer/exports/{manifest_id}",
        f"/organizer/p/{petition.slug}/handover",
        "/organizer/audit",
    ]
    # The pages of the call that show times of day, which name its zone.
    zoned = {
        url
        for url in pages
        if url.startswith("/organizer/")
        and url
        not in {
            "/organizer/",
            f"/organizer/p/{petition.slug}",
            f"/organizer/p/{closed.slug}",
            f"/organizer/p/{closed.slug}/edit",
            f"/organizer/p/{petition.slug}/handover",
            "/organizer/audit",
        }
    } | {f"/p/{petition.slug}", f"/p/{petition.slug}/sign"}
    for language in ("en", "fr", "ar"):
        for url in pages:
            response = client.get(url, headers={"Accept-Language": language})
            assert response.status_code == 200, url
            text = text_of(response)
            assert not WITH_SECONDS.search(text), (url, language, WITH_SECONDS.search(text))
            if url in zoned:
                assert times.zone_name(petition, locale=language) in text, (url, language)

    retention.purge_call(closed)
    db.session.commit()
    text = text_of(client.get(f"/organizer/p/{closed.slug}"))
    assert times.day(utcnow(), closed) in text
    assert not WITH_SECONDS.search(text)


def test_a_repeated_import_names_the_first_in_the_call_s_zone(app, petition):
    from petition import imports

    rows = "full_name,email,city,country\nAmina Diallo,amina@example.org,Calais,FR\n"
    first = imports.import_signatures(petition, rows.splitlines(), sha256="abc")
    db.session.commit()
    assert first.stored == 1
    with pytest.raises(imports.ImportFileError) as refused:
        imports.import_signatures(petition, rows.splitlines(), sha256="abc")
    message = str(refused.value)
    assert "France Time" in message and "UTC" not in message
    assert not WITH_SECONDS.search(message)


# Where dates and times may be formatted: petition/times.py for people; ISO 8601 for
# machines (exports, the API, manifests' JSON, .ics and the <time datetime> attribute).
FORMATTING = re.compile(
    r"strftime\(|\|\s*(date|time|datetime)format|format_(date|time|datetime)\(|"
    r"get_(date|time|datetime)_format"
)


def test_every_date_shown_goes_through_one_helper():
    found = []
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("templates/**/*.txt")]:
        found += [
            f"{path.relative_to(ROOT)}: {m.group()}" for m in FORMATTING.finditer(path.read_text())
        ]
    for path in ROOT.glob("petition/**/*.py"):
        if path.name != "times.py":
            found += [
                f"{path.relative_to(ROOT)}: {m.group()}"
                for m in FORMATTING.finditer(path.read_text())
            ]
    assert found == []
