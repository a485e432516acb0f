"""The signing flow in Debian's chromium (Playwright), against the app served for real.

The browser and the live server are fixtures of tests/e2e/conftest.py.
"""

import struct

import pytest
from playwright.sync_api import Browser, Page, expect

from petition.models import SignatureStatus

from .conftest import DEMANDS, PHONE, SLUG, TITLE, LiveServer

pytestmark = pytest.mark.e2e

SIGNER = "amina@example.org"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _page(browser: Browser, live_server: LiveServer, **options):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True, **options
    )
    context.set_default_timeout(10_000)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.requested = requested
    return context, page


@pytest.fixture
def phone(browser, live_server):
    """A phone-sized page (390x844) whose requests are recorded in `page.requested`."""
    context, page = _page(browser, live_server)
    yield page
    context.close()


@pytest.fixture
def phone_without_js(browser, live_server):
    """A phone-sized page with JavaScript disabled."""
    context, page = _page(browser, live_server, java_script_enabled=False)
    yield page
    context.close()


def fill_sign_form(page: Page, **overrides) -> None:
    """Fill the individual signing form by its field names; consent ticked."""
    values = {"full_name": "Amina Diallo", "email": SIGNER, "city": "Calais", **overrides}
    for name, value in values.items():
        page.fill(f"input[name={name}]", value)
    page.select_option("select[name=country]", "FR")
    page.check("input[name=show_publicly]")
    page.check("input[name=consent]")


def submit_sign_form(page: Page):
    """Press Sign; the response to the form's POST."""
    with page.expect_response(
        lambda response: response.request.method == "POST" and response.url.endswith("/sign")
    ) as posted:
        page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_load_state()
    return posted.value


def sign_and_confirm(page: Page, live_server: LiveServer) -> None:
    """From the call page to a confirmed signature, as a person does it."""
    page.goto(f"/p/{SLUG}")
    page.get_by_role("link", name="Sign as an individual").first.click()
    expect(page).to_have_url(f"{live_server.url}/p/{SLUG}/sign")
    fill_sign_form(page)
    assert submit_sign_form(page).status == 302
    expect(page).to_have_url(f"{live_server.url}/p/{SLUG}/check-your-email")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    assert [s.status for s in live_server.signatures()] == [SignatureStatus.PENDING]

    link = live_server.confirm_link(SIGNER)
    assert link.startswith(f"{live_server.url}/confirm/")
    page.goto(link)
    button = page.get_by_role("button", name="Confirm my signature")
    expect(button).to_be_visible()
    assert [s.status for s in live_server.signatures()] == [SignatureStatus.PENDING]
    button.click()

    expect(page).to_have_url(f"{live_server.url}/p/{SLUG}")
    expect(page.locator(".flash-success")).to_have_text(
        "Thank you! Your signature is confirmed and now counts."
    )
    expect(page.locator(".count-individuals")).to_have_text("1 person has signed")
    assert [s.status for s in live_server.signatures()] == [SignatureStatus.CONFIRMED]


def png_size(path) -> tuple[int, int]:
    """Width and height of a PNG file, read from its header."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    return struct.unpack(">II", data[16:24])


def test_phone_visitor_signs_and_confirms(phone, live_server):
    """On a phone, a visitor reads the call, signs, confirms by mail and is counted."""
    phone.goto(f"/p/{SLUG}")
    expect(phone).to_have_title(TITLE)
    expect(phone.get_by_role("heading", level=1)).to_have_text(TITLE)
    demands = phone.locator("ul.demands li")
    expect(demands).to_have_text(DEMANDS)
    for index in range(len(DEMANDS)):
        expect(demands.nth(index)).to_be_visible()
    expect(phone.locator(".count-individuals")).to_have_text("0 people have signed")
    expect(phone.get_by_role("link", name="Sign as an individual").first).to_be_visible()
    scroll_width = phone.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], "the call page scrolls sideways on a phone"

    sign_and_confirm(phone, live_server)

    expect(phone.locator(".signatories")).to_contain_text("Amina Diallo")
    assert len(live_server.mails) == 1


def test_invalid_email_is_refused_next_to_the_field(phone, live_server, tmp_path):
    """An invalid address gets a 422, a message by the email field, and keeps the typed name."""
    phone.goto(f"/p/{SLUG}/sign")
    fill_sign_form(phone, email="amina@@example")

    response = submit_sign_form(phone)

    assert response.status == 422
    email_field = phone.locator(".field").filter(has=phone.locator("input[name=email]"))
    error = email_field.locator(".error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("This email address cannot contain these characters: @")
    expect(phone.locator("input[name=email]")).to_have_attribute("aria-invalid", "true")
    expect(phone.locator(".error-summary")).to_contain_text("Email:")
    expect(phone.locator("input[name=full_name]")).to_have_value("Amina Diallo")
    expect(phone.locator("input[name=email]")).to_have_value("amina@@example")
    assert live_server.signatures() == []
    assert live_server.mails == []

    screenshot = tmp_path / "sign-form-errors.png"
    phone.screenshot(path=screenshot, full_page=True)
    assert screenshot.stat().st_size > 0
    print(f"screenshot: {screenshot}")


def test_expired_form_is_refused_and_keeps_the_input(phone, live_server):
    """Without its session (CSRF token gone) the form is refused with 422, nothing stored."""
    phone.goto(f"/p/{SLUG}/sign")
    fill_sign_form(phone)
    phone.context.clear_cookies()

    response = submit_sign_form(phone)

    assert response.status == 422
    expect(phone.locator(".error-summary")).to_contain_text("The form expired")
    expect(phone.locator("input[name=full_name]")).to_have_value("Amina Diallo")
    assert live_server.signatures() == []
    assert live_server.mails == []


def test_pages_request_nothing_from_other_hosts(phone, live_server):
    """Every request of the pages, across the whole flow, goes to the test server."""
    phone.goto("/")
    phone.get_by_role("link", name=TITLE).click()
    phone.get_by_role("link", name="Sign as an individual").first.click()
    fill_sign_form(phone, email="not an address")
    assert submit_sign_form(phone).status == 422
    phone.goto(f"/p/{SLUG}")
    sign_and_confirm(phone, live_server)
    phone.get_by_role("link", name="All public signatories").click()
    expect(phone.locator(".signatories")).to_contain_text("Amina Diallo")
    phone.get_by_role("link", name="Privacy notice").click()
    expect(phone).to_have_url(f"{live_server.url}/privacy")

    stylesheet = f"{live_server.url}/static/css/site.css?v="
    assert any(url.startswith(stylesheet) for url in phone.requested)
    assert any("/confirm/" in url for url in phone.requested)
    elsewhere = [url for url in phone.requested if not url.startswith(f"{live_server.url}/")]
    assert elsewhere == []


def test_phone_screenshots_of_the_call_and_the_form(phone, tmp_path):
    """Full-page screenshots at phone width of the call page and the form are real PNGs."""
    phone.goto(f"/p/{SLUG}")
    phone.wait_for_load_state("load")
    call_page = tmp_path / "call-page-phone.png"
    phone.screenshot(path=call_page, full_page=True)

    phone.get_by_role("link", name="Sign as an individual").first.click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Sign the call")
    phone.wait_for_load_state("load")  # with its stylesheet
    scroll_width = phone.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], "the form scrolls sideways on a phone"
    sign_form = tmp_path / "sign-form-phone.png"
    phone.wait_for_load_state("load")
    phone.screenshot(path=sign_form, full_page=True)

    for screenshot in (call_page, sign_form):
        assert screenshot.stat().st_size > 0
        width, height = png_size(screenshot)
        assert width == PHONE["width"]
        assert height > PHONE["height"], f"{screenshot.name} is not a full-page screenshot"
        print(f"screenshot: {screenshot}")


def test_signing_works_without_javascript(phone_without_js, live_server):
    """With JavaScript disabled, signing and confirming work all the same."""
    phone_without_js.set_content(
        "<p id=probe>static</p><script>probe.textContent = 'scripted'</script>"
    )
    expect(phone_without_js.locator("#probe")).to_have_text("static")  # scripts do not run
    sign_and_confirm(phone_without_js, live_server)
    assert len(live_server.mails) == 1
