"""A signer's whole journey on a phone, with a real SMTP server and a screenshot per step.

The screenshots are in test-artifacts/signer-journey/ (gitignored), kept by CI.
"""

import re

import pytest
from playwright.sync_api import expect

from petition import mail

from .conftest import PHONE, SLUG, TITLE, screenshot_taker
from .test_browser import SIGNER, fill_sign_form, submit_sign_form

pytestmark = pytest.mark.e2e

CONFIRM_LINK = re.compile(r"https?://\S+/confirm/\S+")


def test_a_signer_makes_a_mistake_corrects_it_confirms_by_mail_and_is_counted(
    browser, live_server_with_smtp
):
    live = live_server_with_smtp
    shoot = screenshot_taker("signer-journey")
    context = browser.new_context(base_url=live.url, viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()

    page.goto(f"/p/{SLUG}")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".count-individuals")).to_have_text("0 people have signed")
    shoot(page, "reads-the-call")

    page.get_by_role("link", name="Sign as an individual").first.click()
    fill_sign_form(page, email="amina@example")  # no top-level domain
    # The call's rally is to come: the signer says they will be there, by the box's label.
    attend = page.get_by_role("checkbox", name=re.compile(r"^I will attend the rally on "))
    expect(attend).not_to_be_checked()
    attend.check()
    assert submit_sign_form(page).status == 422
    email = page.locator("#email")
    expect(email).to_have_attribute("aria-invalid", "true")
    error = page.locator("#email-error")
    expect(error).to_be_visible()
    # The message sits next to its field, and the field points to it for screen readers.
    assert "email-error" in email.get_attribute("aria-describedby")
    expect(page.locator("#full_name")).to_have_value("Amina Diallo")
    expect(attend).to_be_checked()  # the answer survives the correction
    shoot(page, "sees-the-mistake")

    fill_sign_form(page)
    assert submit_sign_form(page).status == 302
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    shoot(page, "checks-the-mail")

    mail.wait_for_senders()
    (message,) = [m for m in live.smtp.inbox.messages() if m["To"] == SIGNER]
    (link,) = CONFIRM_LINK.findall(message.get_content())
    assert link.startswith(f"{live.url}/confirm/")
    page.goto(link)
    shoot(page, "opens-the-mailed-link")
    page.get_by_role("button", name="Confirm my signature").click()

    expect(page).to_have_url(f"{live.url}/p/{SLUG}")
    expect(page.locator(".count-individuals")).to_have_text("1 person has signed")
    expect(page.locator(".signatories")).to_contain_text("Amina Diallo")
    (signature,) = live.signatures()
    assert signature.will_attend is True
    shoot(page, "is-counted")
    # One mail reached the real SMTP server, and nothing more was sent.
    assert len(live.smtp.inbox.messages()) == 1
    assert [path.name for path in shoot.taken] == [
        "01-reads-the-call.png",
        "02-sees-the-mistake.png",
        "03-checks-the-mail.png",
        "04-opens-the-mailed-link.png",
        "05-is-counted.png",
    ]
    context.close()
