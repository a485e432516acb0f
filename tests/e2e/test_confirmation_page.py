"""The confirmation page in a real browser: the details a link confirms, and correcting them.

Someone used the signer's address first; the signer opens the link, sees those details,
opens "These are not my details", makes a mistake, then confirms their own. In English,
French and Arabic, on a phone and a desktop: axe-core on each state, and a screenshot of
each in test-artifacts/confirmation/ to look at.
"""

import pytest
from playwright.sync_api import expect

from petition import mail, signing
from petition.extensions import db
from petition.queries import petition_by_slug

from ..conftest import signature_fields
from .axe import AxeRun
from .conftest import DESKTOP, PHONE, SLUG, screenshot_taker

pytestmark = pytest.mark.e2e

ADDRESS = "squat@example.org"
LABELS = {
    "en": ("These are not my details", "Confirm with these details", "Full name"),
    "fr": ("Ce ne sont pas mes informations", "Confirmer avec ces informations", "Nom et prénom"),
    "ar": ("هذه ليست بياناتي", "التأكيد بهذه البيانات", None),
}


def links_after_two_submissions(live) -> list[str]:
    """A squatter's submission, then the owner's: the two confirmation links mailed."""
    with live.app.test_request_context(base_url=live.url):
        petition = db.session.execute(petition_by_slug(SLUG)).scalar_one()
        for name, city in (("Squatter", "Nowhere"), ("مريم الأحمد", "بيروت")):
            signing.sign(petition, **signature_fields(email=ADDRESS, full_name=name, city=city))
            db.session.commit()
        mail.send_pending()
    return live.mailed_links(ADDRESS, "confirm")


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_the_owner_sees_and_corrects_the_details_before_confirming(
    browser, live_server, axe_source, language
):
    squatters, owners = links_after_two_submissions(live_server)
    shoot = screenshot_taker(f"confirmation-{language}")
    unfold, confirm_corrected, name_label = LABELS[language]
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        phone = size == "phone"
        context = browser.new_context(
            base_url=live_server.url,
            viewport=viewport,
            is_mobile=phone,
            has_touch=phone,
            extra_http_headers={"Accept-Language": language},
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        axe = AxeRun(page, axe_source)

        axe.visit(f"{size}: the owner's own link", owners)
        expect(page.locator(".confirm-details")).to_contain_text("مريم الأحمد")
        shoot(page, f"{size}-owners-link")

        axe.visit(f"{size}: the squatter's link", squatters)
        expect(page.locator(".confirm-details")).to_contain_text("Squatter")
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
        page.get_by_text(unfold).click()
        name = page.locator("#full_name")
        expect(name).to_have_value("Squatter")
        name.fill("Amina, see evil-example.com/login")
        page.locator("#consent").check()
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.get_by_role("button", name=confirm_corrected).click()
        assert posted.value.status == 422
        expect(page.locator("details.correction")).to_have_attribute("open", "")
        expect(page.locator("#full_name-error")).to_be_visible()
        axe.check(f"{size}: the correction with an error")
        shoot(page, f"{size}-correction-error")
        if name_label:
            expect(page.get_by_label(name_label, exact=True)).to_be_visible()
        axe.assert_clean()
        context.close()
