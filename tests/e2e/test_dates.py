"""Dates and times as people see them, in each language on a phone and a desktop: a call's
closing, its rally and its workspace's times in the call's zone, the zone named, no seconds.

The screenshots are in test-artifacts/dates/ (gitignored), kept by CI.
"""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from petition import signing, times
from petition.extensions import db
from petition.models import Petition, Signature

from ..conftest import signature_fields
from .conftest import DESKTOP, PHONE, SLUG, log_in, screenshot_taker

pytestmark = pytest.mark.e2e

CLOSING = datetime(2030, 10, 14, 21, 59, tzinfo=UTC)  # 23:59 in Paris
WITH_SECONDS = re.compile(r"[0-9٠-٩]{1,2}[:.][0-9٠-٩]{2}[:.][0-9٠-٩]{2}")


def test_a_call_s_times_read_in_its_zone_in_every_language(browser, live_server):
    owner = live_server.add_organizer("owner@example.org")
    with live_server.app.test_request_context(base_url=live_server.url):
        petition = db.session.execute(db.select(Petition)).scalar_one()
        petition.closes_at = CLOSING
        signature = signing.sign(petition, **signature_fields(full_name="أمينة ديالو"))
        signing.confirm(signature)
        db.session.commit()
        signature_id = db.session.execute(db.select(Signature.id)).scalar_one()

    shoot = screenshot_taker("dates")
    for device, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, is_mobile=device == "phone"
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        log_in(page, owner)
        for language in ("en", "fr", "ar"):
            context.add_cookies([{"name": "lang", "value": language, "url": live_server.url}])
            with live_server.app.app_context():
                petition = db.session.execute(db.select(Petition)).scalar_one()
                closing = times.moment(CLOSING, petition, locale=language)
                rally = times.moment(petition.event_starts_at, petition, locale=language)
                zone = times.zone_name(petition, locale=language)
            for step, url, shown in (
                ("call", f"/p/{SLUG}", [closing, rally]),
                ("sign", f"/p/{SLUG}/sign", [zone]),
                ("campaign", f"/organizer/p/{SLUG}/campaign", [zone]),
                ("signature", f"/organizer/signatures/{signature_id}", [zone]),
            ):
                page.goto(url)
                expect(page.locator("html")).to_have_attribute("lang", language)
                text = page.locator("main").inner_text()
                for words in shown:
                    assert words in text, (device, language, step, words)
                assert not WITH_SECONDS.search(text), (device, language, step)
                shoot(page, f"{device}-{language}-{step}")
                # The dates wrap: nothing in the page's content runs off a phone's screen.
                assert (
                    page.evaluate("document.querySelector('main').scrollWidth")
                    <= (viewport["width"])
                )
        context.close()
