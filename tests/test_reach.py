"""Reach: the rally as .ics, the map link, share links and meta tags, the embeddable counter,
CORS on the counts, and which public responses caches may keep."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from petition.extensions import db

HOSTILE_TITLE = 'Rally, "now"; <script>alert(1)</script> & go'
PUBLIC = "public, max-age=30, stale-while-revalidate=300"


def cache_directives(response) -> set[str]:
    return {part.strip() for part in response.headers.get("Cache-Control", "").split(",")}


def meta(page: str, key: str) -> str:
    """The content of the one <meta property|name=key> tag of a page, as written."""
    tags = [line for line in page.splitlines() if f'="{key}" content="' in line]
    assert len(tags) == 1, (key, tags)
    return tags[0].split('content="', 1)[1].rsplit('"', 1)[0]


# --- The rally in calendars ---------------------------------------------------------------


def parse_ics(response) -> Calendar:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.data)


def the_event(calendar: Calendar):
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def test_rally_ics_has_the_event_in_the_rally_time_zone(client, petition):
    calendar = parse_ics(client.get(f"/p/{petition.slug}/rally.ics"))
    assert str(calendar["VERSION"]) == "2.0"
    event = the_event(calendar)
    start = event.decoded("DTSTART")
    assert start == datetime(2030, 10, 14, 14, 0, tzinfo=UTC)
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert start.utcoffset() == timedelta(hours=2)  # summer time in Paris that day
    assert event.decoded("DTEND") - start == timedelta(hours=2)
    assert event.decoded("DTSTAMP").tzinfo is not None
    # Calendars need the zone's rules: the file carries them.
    zones = calendar.walk("VTIMEZONE")
    assert [str(zone["TZID"]) for zone in zones] == ["Europe/Paris"]
    assert str(event["LOCATION"]) == "Place d’Armes, Place d’Armes, 62100 Calais, France"
    assert str(event["SUMMARY"]) == "Open the borders"
    assert str(event["URL"]) == f"http://petitions.example.org/p/{petition.slug}"
    assert "A call for freedom of movement." in str(event["DESCRIPTION"])
    assert str(event["UID"]) == f"rally-{petition.id}@petitions.example.org"


def test_rally_ics_in_another_zone_and_after_2038(client, make_petition):
    petition = make_petition(
        event_starts_at=datetime(2040, 1, 20, 23, 30, tzinfo=UTC),
        event_timezone="America/Sao_Paulo",
    )
    event = the_event(parse_ics(client.get(f"/p/{petition.slug}/rally.ics")))
    start = event.decoded("DTSTART")
    assert start == datetime(2040, 1, 20, 23, 30, tzinfo=UTC)
    assert start.astimezone(ZoneInfo("America/Sao_Paulo")).hour == 20
    assert event["DTSTART"].params["TZID"] == "America/Sao_Paulo"
    assert event["DTSTART"].to_ical() == b"20400120T203000"


def test_rally_ics_uid_is_stable_across_requests_and_renames(client, petition):
    first = the_event(parse_ics(client.get(f"/p/{petition.slug}/rally.ics")))
    petition.slug = "renamed-call"
    db.session.commit()
    second = the_event(parse_ics(client.get("/p/renamed-call/rally.ics")))
    assert str(first["UID"]) == str(second["UID"])


def test_hostile_title_round_trips_through_the_ics(client, petition):
    petition.title = "Rally, now; bring\nfriends \\ banners"
    petition.event_place = "Square; north side, by the fountain"
    petition.event_address = None
    db.session.commit()
    response = client.get(f"/p/{petition.slug}/rally.ics")
    # Escaped as RFC 5545 says, and every line at most 75 octets.
    assert b"SUMMARY;LANGUAGE=en:Rally\\, now\\; bring\\nfriends \\\\ banners" in response.data
    assert all(len(line) <= 75 for line in response.data.split(b"\r\n"))
    event = the_event(parse_ics(response))
    assert str(event["SUMMARY"]) == "Rally, now; bring\nfriends \\ banners"
    assert str(event["LOCATION"]) == "Square; north side, by the fountain"


def test_long_text_is_folded_and_round_trips(client, petition):
    petition.summary = "Ünïcödé " * 40
    db.session.commit()
    response = client.get(f"/p/{petition.slug}/rally.ics")
    assert all(len(line) <= 75 for line in response.data.split(b"\r\n"))
    event = the_event(parse_ics(response))
    assert str(event["DESCRIPTION"]).startswith("Ünïcödé " * 40)


def test_no_rally_no_ics(client, make_petition):
    petition = make_petition(event_starts_at=None, event_timezone=None)
    response = client.get(f"/p/{petition.slug}/rally.ics")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert client.get("/p/no-such-call/rally.ics").status_code == 404
    page = client.get(f"/p/{petition.slug}").text
    assert "rally.ics" not in page
    assert "openstreetmap.org" not in page


def test_call_page_links_the_ics_and_the_map(client, petition):
    page = client.get(f"/p/{petition.slug}").text
    assert f'href="/p/{petition.slug}/rally.ics"' in page
    map_link = (
        '<a href="https://www.openstreetmap.org/search?query='
        'Place%20d%E2%80%99Armes%2C%2062100%20Calais%2C%20France" rel="noopener">'
    )
    assert map_link in page
    assert "<iframe" not in page


def test_map_link_falls_back_to_the_place(client, petition):
    petition.event_address = None
    petition.event_place = "Parc & <Jardin>"
    db.session.commit()
    page = client.get(f"/p/{petition.slug}").text
    assert "https://www.openstreetmap.org/search?query=Parc%20%26%20%3CJardin%3E" in page


# --- Meta tags and share links ------------------------------------------------------------


def test_call_page_has_open_graph_and_twitter_tags(client, petition):
    page = client.get(f"/p/{petition.slug}").text
    url = f"http://petitions.example.org/p/{petition.slug}"
    assert meta(page, "og:title") == "Open the borders"
    assert meta(page, "og:description") == "A call for freedom of movement."
    assert meta(page, "og:url") == url
    assert meta(page, "og:type") == "website"
    assert meta(page, "og:site_name") == "Calls and petitions"
    assert meta(page, "og:locale") == "en"
    assert meta(page, "og:image") == f"{url}/share.png?lang=en"  # tests/test_share_image.py
    assert meta(page, "twitter:card") == "summary_large_image"
    assert meta(page, "twitter:image") == meta(page, "og:image")
    assert f'<link rel="canonical" href="{url}">' in page


def test_default_share_image_is_served_at_its_size(client):
    response = client.get("/static/img/share.png")
    assert response.status_code == 200
    assert response.data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(response.data[16:20], "big")
    height = int.from_bytes(response.data[20:24], "big")
    assert (width, height) == (1200, 630)
    response.close()


def test_share_image_is_configurable(app, client, petition):
    app.config["SHARE_IMAGE_URL"] = "https://cdn.example.net/call.png?a=1&b=2"
    page = client.get(f"/p/{petition.slug}").text
    assert meta(page, "og:image") == "https://cdn.example.net/call.png?a=1&amp;b=2"


def test_hostile_title_is_escaped_in_meta_tags_and_share_links(client, make_petition):
    petition = make_petition(title=HOSTILE_TITLE, summary='Say "no" <b>now</b>')
    page = client.get(f"/p/{petition.slug}").text
    assert "<script>alert(1)" not in page
    assert "<b>now" not in page
    escaped = "Rally, &#34;now&#34;; &lt;script&gt;alert(1)&lt;/script&gt; &amp; go"
    assert meta(page, "og:title") == escaped
    assert meta(page, "twitter:title") == escaped
    assert meta(page, "og:description") == "Say &#34;no&#34; &lt;b&gt;now&lt;/b&gt;"


def share_hrefs(page: str) -> dict[str, str]:
    section = page.split('<section class="share"', 1)[1].split("</section>", 1)[0]
    hrefs = {}
    for item in section.split("<li>")[1:]:
        href = item.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        name = item.split(">", 1)[1].split("<", 1)[0]
        hrefs[name] = href
    return hrefs


def test_share_links_are_plain_links_with_the_call_url(client, make_petition):
    petition = make_petition(title=HOSTILE_TITLE)
    page = client.get(f"/p/{petition.slug}").text
    url = f"http://petitions.example.org/p/{petition.slug}"
    hrefs = share_hrefs(page)
    assert set(hrefs) == {"E-mail", "WhatsApp", "Telegram", "Facebook", "X", "Bluesky"}

    def params(href):
        return {key: values[0] for key, values in parse_qs(urlsplit(href).query).items()}

    assert hrefs["E-mail"].startswith("mailto:?")
    assert params(hrefs["E-mail"]) == {
        "subject": HOSTILE_TITLE,
        "body": f"A call for freedom of movement.\n\n{url}",
    }
    assert hrefs["WhatsApp"].startswith("https://wa.me/?")
    assert params(hrefs["WhatsApp"]) == {"text": f"{HOSTILE_TITLE} {url}"}
    assert hrefs["Telegram"].startswith("https://t.me/share/url?")
    assert params(hrefs["Telegram"]) == {"url": url, "text": HOSTILE_TITLE}
    assert hrefs["Facebook"].startswith("https://www.facebook.com/sharer/sharer.php?")
    assert params(hrefs["Facebook"]) == {"u": url}
    assert hrefs["X"].startswith("https://twitter.com/intent/tweet?")
    assert params(hrefs["X"]) == {"url": url, "text": HOSTILE_TITLE}
    assert params(hrefs["Bluesky"]) == {"text": f"{HOSTILE_TITLE} {url}"}
    # mailto bodies and subjects use %20, not +, for spaces (RFC 6068).
    assert "+" not in hrefs["E-mail"]
    assert f'value="{url}" readonly' in page  # the link to copy, without JavaScript
    assert "<script" not in page


# --- The embeddable counter and the counts for other sites --------------------------------


def test_embed_shows_the_counts_and_a_sign_link(client, make_petition, make_signature):
    petition = make_petition(signature_goal=1000)
    make_signature(petition, confirmed=True)
    make_signature(petition, email="pending@example.org")
    response = client.get(f"/p/{petition.slug}/embed")
    assert response.status_code == 200
    page = response.text
    assert "1 person has signed" in page
    assert "0 organizations have endorsed" in page
    assert '<progress id="goal" max="1000" value="1">' in page
    url = f"http://petitions.example.org/p/{petition.slug}"
    assert f'<a class="embed-button" href="{url}" target="_blank" rel="noopener">Sign</a>' in page
    assert 'href="/static/css/embed.css?v=' in page
    assert "site.css" not in page
    assert "site-header" not in page
    assert "<script" not in page
    assert "<form" not in page


@pytest.mark.parametrize(("language", "direction"), [("ar", "rtl"), ("fr", "ltr"), ("en", "ltr")])
def test_embed_reads_in_the_direction_of_its_language(client, petition, language, direction):
    page = client.get(f"/p/{petition.slug}/embed", headers={"Accept-Language": language}).text
    assert f'<html lang="{language}" dir="{direction}">' in page


def test_embed_of_a_closed_call_links_to_read_it(client, make_petition):
    from petition.models import PetitionStatus

    petition = make_petition(status=PetitionStatus.CLOSED, collects_endorsements=False)
    page = client.get(f"/p/{petition.slug}/embed").text
    assert ">Read the call</a>" in page
    assert ">Sign</a>" not in page
    assert "organizations have endorsed" not in page


def test_only_the_embed_may_be_framed(client, petition):
    embed = client.get(f"/p/{petition.slug}/embed")
    assert "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" not in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers
    # The rest of the policy still holds on the embed.
    assert "script-src 'self'" in embed.headers["Content-Security-Policy"]
    assert embed.headers["X-Content-Type-Options"] == "nosniff"
    for url in (
        f"/p/{petition.slug}",
        f"/p/{petition.slug}/sign",
        f"/p/{petition.slug}/rally.ics",
        f"/p/{petition.slug}.json",
        "/p/no-such-call/embed",
    ):
        headers = client.get(url).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], url
        assert headers["X-Frame-Options"] == "DENY", url


def test_unknown_call_embed_is_404(client):
    response = client.get("/p/no-such-call/embed")
    assert response.status_code == 404
    assert "Cache-Control" not in response.headers or "public" not in cache_directives(response)


def test_counts_json_may_be_read_by_any_site(client, petition, make_signature):
    make_signature(petition, confirmed=True)
    response = client.get(f"/p/{petition.slug}.json", headers={"Origin": "https://other.example"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.json == {"slug": petition.slug, "individuals": 1, "organizations": 0}
    # Only the counts are open to other sites.
    for url in (f"/p/{petition.slug}", f"/p/{petition.slug}/signers", "/organizer/"):
        assert "Access-Control-Allow-Origin" not in client.get(url).headers, url


# --- Which responses caches may keep -------------------------------------------------------


@pytest.fixture
def public_urls(petition):
    return [
        "/",
        f"/p/{petition.slug}",
        f"/p/{petition.slug}/signers",
        f"/p/{petition.slug}/organizations",
        f"/p/{petition.slug}.json",
        f"/p/{petition.slug}/embed",
        f"/p/{petition.slug}/rally.ics",
    ]


def test_public_responses_may_be_cached_and_served_stale(client, public_urls):
    for url in public_urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == PUBLIC, url
        assert "Cookie" in response.headers["Vary"], url
        assert "Set-Cookie" not in response.headers, url


def test_a_visitor_with_a_csrf_session_still_gets_cacheable_pages(app, client, public_urls):
    app.config["WTF_CSRF_ENABLED"] = True
    sign_form = client.get(public_urls[1] + "/sign")
    assert 'name="csrf_token"' in sign_form.text
    # The form carries this visitor's token: never public.
    assert "public" not in cache_directives(sign_form)
    for url in public_urls:
        response = client.get(url)
        assert response.headers["Cache-Control"] == PUBLIC, url
        assert "Set-Cookie" not in response.headers, url


def test_a_page_with_a_flashed_message_is_not_cached(client, petition):
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Thank you! Your signature is confirmed.")]
    response = client.get(f"/p/{petition.slug}")
    assert "Thank you! Your signature is confirmed." in response.text
    assert {"private", "no-store"} <= cache_directives(response)
    assert "public" not in cache_directives(response)
    # Once shown, the next view of the page is public again.
    assert client.get(f"/p/{petition.slug}").headers["Cache-Control"] == PUBLIC


def test_a_confirmed_signers_page_with_the_thank_you_is_not_cached(
    client, petition, make_signature
):
    from petition.tokens import CONFIRM, make_token

    signature = make_signature(petition)
    db.session.commit()
    token = make_token(CONFIRM, "signature", signature.id, signature.token_key)
    response = client.post(f"/confirm/{token}")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "Your signature is confirmed" in page.text
    assert "no-store" in cache_directives(page)


def test_an_organizers_public_pages_are_not_cached(logged_in, public_urls):
    for url in public_urls[:4]:
        response = logged_in.get(url)
        assert response.status_code == 200, url
        assert "Log out" in response.text, url
        assert {"private", "no-store"} <= cache_directives(response), url
        assert "public" not in cache_directives(response), url
