"""Withdrawing through the mailed link, as a signer and as an organization, in each language
on a phone and a desktop: each is told what they withdrew.

The screenshots are in test-artifacts/withdrawal/ (gitignored), kept by CI.
"""

import pytest
from playwright.sync_api import expect

from petition import mail, signing
from petition.extensions import db
from petition.models import Petition

from ..conftest import endorsement_fields, signature_fields
from .conftest import DESKTOP, PHONE, SLUG, screenshot_taker

pytestmark = pytest.mark.e2e

# What each is told after withdrawing, by language.
TOLD = {
    "en": {
        "endorsement": "The endorsement has been withdrawn and its details deleted.",
        "signature": "Your signature has been withdrawn and your details deleted.",
    },
    "fr": {
        "endorsement": "Le soutien a été retiré et ses données supprimées.",
        "signature": "Votre signature a été retirée et vos données supprimées.",
    },
    "ar": {
        "endorsement": "تم سحب التأييد وحذف بياناته.",
        "signature": "تم سحب توقيعك وحذف بياناتك.",
    },
}
# A name in the other direction than the page's: it must not reorder the sentence.
NAMES = {"en": "جمعية التضامن", "fr": "جمعية التضامن", "ar": "Collectif Solidarité 62"}
BUTTONS = {
    "en": {"endorsement": "Withdraw the endorsement", "signature": "Withdraw my signature"},
    "fr": {"endorsement": "Retirer le soutien", "signature": "Retirer ma signature"},
    "ar": {"endorsement": "سحب التأييد", "signature": "سحب توقيعي"},
}


def withdraw_link(live_server, kind: str, language: str, device: str) -> str:
    """A new signature or endorsement made in the call, and its mailed withdrawal link."""
    address = f"{kind}-{language}-{device}@example.org"
    # A request context: the mail's links are built from the served address.
    with live_server.app.test_request_context(base_url=live_server.url):
        petition = db.session.execute(db.select(Petition)).scalar_one()
        if kind == "endorsement":
            fields = endorsement_fields(organization=NAMES[language], contact_email=address)
            signing.endorse(petition, **fields)
        else:
            signing.sign(petition, **signature_fields(full_name=NAMES[language], email=address))
        db.session.commit()
        mail.send_pending()
    (link,) = live_server.mailed_links(address, "withdraw")
    return link


@pytest.mark.parametrize("kind", ["endorsement", "signature"])
def test_who_withdraws_is_told_what_they_withdrew(browser, live_server, kind):
    shoot = screenshot_taker(f"withdrawal-{kind}")
    for language in ("en", "fr", "ar"):
        for device, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            context = browser.new_context(
                viewport=viewport,
                is_mobile=device == "phone",
                extra_http_headers={"Accept-Language": language},
            )
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.goto(withdraw_link(live_server, kind, language, device))
            expect(page.locator("main bdi")).to_have_text(NAMES[language])
            shoot(page, f"{language}-{device}-page")
            page.get_by_role("button", name=BUTTONS[language][kind]).click()
            expect(page).to_have_url(f"{live_server.url}/p/{SLUG}")
            expect(page.locator(".flash-success")).to_have_text(TOLD[language][kind])
            shoot(page, f"{language}-{device}-withdrawn")  # once loaded, with its stylesheet
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            context.close()
