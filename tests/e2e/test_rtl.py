"""Arabic in a real browser: the page reads right to left and its layout mirrors.

The screenshots are in test-artifacts/rtl/ (gitignored), kept by CI.
"""

from io import BytesIO

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from .conftest import DESKTOP, PHONE, SLUG, screenshot_taker

pytestmark = pytest.mark.e2e


def box(page: Page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found, selector
    return found


def right(found: dict) -> float:
    return found["x"] + found["width"]


def arrow_points(page: Page, selector: str) -> str:
    """Which way the arrow on screen points, from a screenshot: its head is the end with the
    most ink (the shaft alone is thin)."""
    shot = Image.open(BytesIO(page.locator(selector).first.screenshot())).convert("L")
    width, height = shot.size
    quarter = max(1, width // 4)

    def ink(left: int, right: int) -> int:
        strip = shot.crop((left, 0, right, height))
        return sum(1 for value in strip.tobytes() if value < 128)

    start, end = ink(0, quarter), ink(width - quarter, width)
    assert start != end, "no arrow drawn"
    return "left" if start > end else "right"


def address_field(page: Page) -> dict:
    return page.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('#email'));"
        " return {direction: s.direction, align: s.textAlign}; })()"
    )


def test_the_arabic_sign_form_mirrors(browser, live_server):
    shoot = screenshot_taker("rtl")
    context = browser.new_context(
        base_url=live_server.url, viewport=DESKTOP, extra_http_headers={"Accept-Language": "ar"}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()

    page.goto(f"/p/{SLUG}/sign")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", level=1)).to_have_text("وقّع على النداء")
    assert page.evaluate(
        "getComputedStyle(document.querySelector('form.sign-form')).direction"
    ) == ("rtl")

    form = box(page, "form.sign-form")
    button = box(page, "form.sign-form button[type=submit]")
    # The submit button starts at the form's right edge and leaves its left side free.
    assert abs(right(button) - right(form)) <= 2
    assert button["x"] - form["x"] > form["width"] / 2
    # A checkbox sits to the right of its label, as the reader starts there.
    checkbox = box(page, "#show_publicly")
    label = box(page, "label[for=show_publicly]")
    assert checkbox["x"] > label["x"]
    assert abs(right(checkbox) - right(box(page, ".field-check"))) <= 4
    # The fieldset's legend starts at the right too.
    legend = box(page, "form.sign-form legend")
    fieldset = box(page, "form.sign-form fieldset")
    assert right(fieldset) - right(legend) < fieldset["width"] / 4
    assert legend["x"] - fieldset["x"] > fieldset["width"] / 2
    # Country names in Arabic, in the form's own select.
    expect(page.locator("#country option[value=EG]")).to_have_text("مصر")
    # The way back to the call: its arrow starts the link at the right and points right.
    back = box(page, "main a .back")
    assert abs(right(back) - right(box(page, "main p a"))) <= 2
    assert arrow_points(page, "main a .back") == "right"
    # An email address reads left to right, from the field's right edge like its label.
    assert address_field(page) == {"direction": "ltr", "align": "right"}
    shoot(page, "sign-form-desktop")

    # The same checks fail in English: the layout really changes with the language.
    english = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    other = english.new_page()
    other.goto(f"/p/{SLUG}/sign")
    expect(other.locator("html")).to_have_attribute("dir", "ltr")
    form_en = box(other, "form.sign-form")
    button_en = box(other, "form.sign-form button[type=submit]")
    assert abs(button_en["x"] - form_en["x"]) <= 2
    assert box(other, "#show_publicly")["x"] < box(other, "label[for=show_publicly]")["x"]
    assert abs(box(other, "main a .back")["x"] - box(other, "main p a")["x"]) <= 2
    assert arrow_points(other, "main a .back") == "left"
    assert address_field(other) == {"direction": "ltr", "align": "start"}
    english.close()

    # An error keeps the page right to left, messages in Arabic.
    page.locator("#full_name").fill("أمينة ديالو")
    page.get_by_role("button", name="وقّع").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator(".error").first).to_be_visible()
    shoot(page, "sign-form-errors")

    # The endorsement form's way back points right too.
    page.goto(f"/p/{SLUG}/endorse")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert arrow_points(page, "main a .back") == "right"
    shoot(page, "endorse-form")
    context.close()


def test_the_switcher_turns_a_phone_to_arabic_and_back(browser, live_server):
    shoot = screenshot_taker("rtl-switcher")
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True)
    context.set_default_timeout(10_000)
    page = context.new_page()

    page.goto(f"/p/{SLUG}")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    page.get_by_role("link", name="العربية").click()
    expect(page).to_have_url(f"{live_server.url}/p/{SLUG}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("link", name="وقّع بصفتك الشخصية").first).to_be_visible()
    # Nothing overflows sideways on a phone in right-to-left (measured once the stylesheet
    # is there: a busy machine can lay the page out before it).
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "call-page-phone")

    page.goto(f"/p/{SLUG}/sign")  # the cookie keeps the choice
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Signer l'appel")
    shoot(page, "sign-form-french")
    context.close()


EMBED = {"width": 320, "height": 220}  # the frame the README suggests


@pytest.mark.parametrize(("language", "direction"), [("ar", "rtl"), ("fr", "ltr"), ("en", "ltr")])
def test_the_embedded_counter_reads_in_its_language_s_direction(
    browser, live_server, language, direction
):
    shoot = screenshot_taker(f"embed-{language}")
    context = browser.new_context(
        base_url=live_server.url, viewport=EMBED, extra_http_headers={"Accept-Language": language}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"/p/{SLUG}/embed")
    expect(page.locator("html")).to_have_attribute("dir", direction)
    body = box(page, "body")
    button = box(page, ".embed-button")
    count = box(page, ".count-individuals strong")
    # The button and the count start where the reader starts: the right edge in Arabic.
    if direction == "rtl":
        assert right(body) - right(button) < body["width"] / 4
        assert count["x"] > body["width"] / 4
    else:
        assert button["x"] - body["x"] < body["width"] / 4
        assert count["x"] - body["x"] < body["width"] / 4
    shoot(page, "counter")
    context.close()
