"""axe-core (WCAG 2.1 A and AA) on every public page and form and on the workspace.

axe-core comes from node_modules (package.json pins it; `npm ci` installs it, `make test`
runs that). The pages' CSP (script-src 'self') blocks Playwright's add_script_tag(content=),
so axe's source is run with page.evaluate: the pages keep their real CSP while checked.
"""

import pytest
from flask import url_for
from playwright.sync_api import Browser, Page, expect

from petition import audit, mail, moderation, petitions, signing
from petition.extensions import db
from petition.models import EndorsementStatus, Organizer, SignatureStatus
from petition.queries import petition_by_slug

from ..conftest import endorsement_fields, signature_fields
from .axe import AxeRun, axe_violations, describe
from .conftest import DESKTOP, PHONE, SLUG, TITLE, LiveServer, log_in

pytestmark = pytest.mark.e2e

VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
OWNER = "owner@example.org"
SIGNER = "amina@example.org"
# Workspace pages that must be among the enumerated ones, whatever else is added.
CORE_WORKSPACE_PAGES = {"organizer.index", "organizer.petition"}


@pytest.fixture(params=list(VIEWPORTS))
def viewport_page(request, browser: Browser, live_server: LiveServer):
    """A page at a phone (390x844, touch) or a desktop (1280x800) viewport."""
    viewport = VIEWPORTS[request.param]
    phone = request.param == "phone"
    context = browser.new_context(
        base_url=live_server.url, viewport=viewport, is_mobile=phone, has_touch=phone
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser: Browser, live_server: LiveServer):
    """A phone-sized page (390x844, touch)."""
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def seed(live: LiveServer) -> None:
    """An owner, a listed signer, an approved organization and one awaiting approval."""
    with live.app.test_request_context(base_url=live.url):
        live.add_organizer(OWNER)
        owner = db.session.execute(db.select(Organizer)).scalar_one()
        petition = db.session.execute(petition_by_slug(SLUG)).scalar_one()
        signature = signing.sign(petition, **signature_fields(full_name="Leila Haddad"))
        signing.confirm(signature)
        signing.sign(petition, **signature_fields(email="pending@example.org"))
        approved = signing.endorse(petition, **endorsement_fields(organization="Cimade Nord"))
        signing.confirm(approved)
        moderation.approve(approved, owner)
        audit.record(
            "approve", petition=petition, subject=f"endorsement {approved.id}", organizer=owner
        )
        awaiting = signing.endorse(
            petition,
            **endorsement_fields(organization="Utopia 56", contact_email="u56@example.org"),
        )
        signing.confirm(awaiting)
        # A translation: the call page lists its languages, the workspace has its editor.
        french = petitions.TranslationContent(
            language="fr", title="Ouvrir les frontières", body="Nous appelons à la liberté."
        )
        petitions.write_translation(petition, french)
        db.session.commit()
        assert awaiting.status is EndorsementStatus.AWAITING_APPROVAL


def submit(page: Page, button: str, path: str, status: int) -> None:
    """Press a form's button and check the status of the POST's answer."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith(path)
    ) as posted:
        page.get_by_role("button", name=button, exact=True).click()
    assert posted.value.status == status
    page.wait_for_load_state()


def test_axe_reports_a_violation_on_a_page_made_inaccessible(phone_page, axe_source):
    """The harness can fail: a label removed from the sign form is reported under CSP."""
    phone_page.goto(f"/p/{SLUG}/sign")
    assert axe_violations(phone_page, axe_source) == []
    phone_page.evaluate("document.querySelector('label[for=full_name]').remove()")
    violations = axe_violations(phone_page, axe_source)
    assert "label" in {v["id"] for v in violations}
    (label,) = [v for v in violations if v["id"] == "label"]
    assert [node["target"] for node in label["nodes"]] == ["#full_name"]


def test_public_pages(viewport_page, live_server, axe_source):
    """The home page, a call, its lists, the privacy notice, the 404 and a bad link."""
    seed(live_server)
    axe = AxeRun(viewport_page, axe_source)
    axe.visit("home", "/")
    axe.visit("call", f"/p/{SLUG}")
    latest = viewport_page.get_by_role("region", name="Latest signatories")
    expect(latest).to_contain_text("Leila Haddad")
    axe.visit("call in French, page in English", f"/p/{SLUG}?lang=fr")
    expect(viewport_page.locator("h1")).to_have_text("Ouvrir les frontières")
    axe.visit("signers", f"/p/{SLUG}/signers")
    axe.visit("organizations", f"/p/{SLUG}/organizations")
    expect(viewport_page.locator("main")).to_contain_text("Cimade Nord")
    axe.visit("privacy", "/privacy")
    axe.visit("404", "/p/no-such-call", status=404)
    axe.visit("bad link", "/confirm/not-a-token", status=404)
    axe.assert_clean()


def test_sign_form_empty_and_with_errors(viewport_page, live_server, axe_source):
    """The sign form, empty, sent empty, with an invalid email; then the thank-you page."""
    page, axe = viewport_page, AxeRun(viewport_page, axe_source)
    axe.visit("sign form", f"/p/{SLUG}/sign")
    submit(page, "Sign", f"/p/{SLUG}/sign", 422)
    expect(page.locator(".error-summary")).to_be_visible()
    axe.check("sign form sent empty")

    page.get_by_label("Full name").fill("Amina Diallo")
    page.get_by_label("Email", exact=True).fill("amina@@example")
    page.get_by_label("City", exact=True).fill("Calais")
    page.get_by_label("Country", exact=True).select_option("FR")
    page.get_by_label("I have read the privacy notice", exact=False).check()
    submit(page, "Sign", f"/p/{SLUG}/sign", 422)
    expect(page.locator(".error-summary")).to_contain_text("Email:")
    axe.check("sign form with an invalid email")

    page.get_by_label("Email", exact=True).fill(SIGNER)
    page.get_by_label("I have read the privacy notice", exact=False).check()
    submit(page, "Sign", f"/p/{SLUG}/sign", 302)
    expect(page).to_have_url(f"{live_server.url}/p/{SLUG}/check-your-email")
    axe.check("thank-you page")
    axe.assert_clean()


def test_endorse_form_empty_and_with_errors(viewport_page, live_server, axe_source):
    """The endorse form, empty, sent empty, and with an invalid contact email."""
    page, axe = viewport_page, AxeRun(viewport_page, axe_source)
    axe.visit("endorse form", f"/p/{SLUG}/endorse")
    submit(page, "Endorse", f"/p/{SLUG}/endorse", 422)
    expect(page.locator(".error-summary")).to_be_visible()
    axe.check("endorse form sent empty")

    page.get_by_label("Organization", exact=True).fill("Collectif Solidarité")
    page.get_by_label("Type of organization").select_option(index=1)
    page.get_by_label("City", exact=True).fill("Lille")
    page.get_by_label("Country", exact=True).select_option("FR")
    page.get_by_label("Your name").fill("Jean Martin")
    page.get_by_label("Your email").fill("jean@example")
    submit(page, "Endorse", f"/p/{SLUG}/endorse", 422)
    expect(page.locator(".error-summary")).to_contain_text("Your email:")
    axe.check("endorse form with an invalid email")
    axe.assert_clean()


def test_mailed_link_pages(viewport_page, live_server, axe_source):
    """The pages behind the confirm and withdraw links of a signer's mail."""
    page, axe = viewport_page, AxeRun(viewport_page, axe_source)
    with live_server.app.test_request_context(base_url=live_server.url):
        petition = db.session.execute(petition_by_slug(SLUG)).scalar_one()
        signing.sign(petition, **signature_fields(email=SIGNER))
        db.session.commit()
        mail.send_pending()  # no response here to send it beside
    (confirm,) = live_server.mailed_links(SIGNER, "confirm")
    (withdraw,) = live_server.mailed_links(SIGNER, "withdraw")
    axe.visit("confirm link page", confirm)
    expect(page.get_by_role("button", name="Confirm my signature")).to_be_visible()
    axe.visit("withdraw link page", withdraw)
    axe.assert_clean()


def test_login_page_with_an_error(viewport_page, live_server, axe_source):
    """The login page, and the same after a wrong password."""
    page, axe = viewport_page, AxeRun(viewport_page, axe_source)
    live_server.add_organizer(OWNER)
    axe.visit("login", "/organizer/login")
    page.get_by_label("Email", exact=True).fill(OWNER)
    page.get_by_label("Password").fill("not the password at all")
    submit(page, "Log in", "/organizer/login", 401)
    expect(page.locator(".error")).to_contain_text("wrong password")
    axe.check("login with an error")
    axe.assert_clean()


def workspace_pages(live: LiveServer) -> dict[str, str]:
    """Every GET page of the workspace without arguments or with a call's slug (and the
    language of its translation) only."""
    pages = {}
    with live.app.test_request_context():
        for rule in live.app.url_map.iter_rules():
            if not rule.rule.startswith("/organizer") or "GET" not in rule.methods:
                continue
            if not rule.arguments <= {"slug", "language"}:
                continue
            values = {"slug": SLUG, "language": "fr"}
            values = {name: value for name, value in values.items() if name in rule.arguments}
            pages[rule.endpoint] = url_for(rule.endpoint, **values)
    return pages


def test_workspace_pages(viewport_page, live_server, axe_source):
    """Each workspace page an owner opens, found in the app's URL map (new pages too)."""
    seed(live_server)
    page, axe = viewport_page, AxeRun(viewport_page, axe_source)
    log_in(page, OWNER)
    pages = workspace_pages(live_server)
    assert CORE_WORKSPACE_PAGES <= pages.keys(), pages

    broken, downloads = {}, []
    for endpoint, path in sorted(pages.items()):
        # Downloads (CSV templates, exports) are not pages: look before navigating.
        answer = page.request.get(path)
        if not answer.headers.get("content-type", "").startswith("text/html"):
            downloads.append(endpoint)
            assert answer.ok, (endpoint, answer.status)
            continue
        response = page.goto(path)
        if response is None or response.status >= 400:
            broken[endpoint] = response.status if response else None
            continue
        assert "/organizer/login" not in page.url, f"{endpoint} logged the owner out"
        if page.locator("footer.site-footer").count() != 1:  # a stream that broke off
            broken[endpoint] = "incomplete page"
            continue
        axe.check(f"{endpoint} ({path})")

    print(f"checked {len(axe.checked)} workspace pages; downloads: {downloads}")
    assert len(axe.checked) + len(broken) + len(downloads) == len(pages)
    assert (broken, axe.found) == ({}, {}), (
        f"workspace pages broken: {broken}\naxe found violations:\n" + describe(axe.found)
    )


FOCUSED = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
        name: el.name || el.id || el.textContent.trim(),
        tag: el.tagName.toLowerCase(),
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
        shadow: style.boxShadow !== 'none',
        top: box.top + window.scrollY,
        left: box.left + window.scrollX,
    };
}"""
# The sign form's stops in the order a person reads them, after the page's header links.
SIGN_FORM_ORDER = [
    "full_name",
    "email",
    "city",
    "country",
    "affiliation",
    "show_publicly",
    "wants_updates",
    "will_attend",  # the call's rally is to come
    "Read the privacy notice",
    "consent",
    "Sign",
]


def press(page: Page, key: str) -> dict:
    """Press a key; what has the focus then, and whether the focus is visible on it."""
    page.keyboard.press(key)
    return page.evaluate(FOCUSED)


def test_keyboard_only_signing_on_a_phone(phone_page, live_server):
    """Tab, Shift+Tab, typing, Space and Enter alone sign the call, in the visual order."""
    page = phone_page
    page.goto(f"/p/{SLUG}/sign")

    header = [press(page, "Tab") for _ in range(6)]
    assert [stop["name"] for stop in header] == [
        "Skip to content",
        "Calls and petitions",
        "English",  # the language switcher
        "Français",
        "العربية",
        f"← {TITLE}",
    ]
    stops = [press(page, "Tab") for _ in SIGN_FORM_ORDER]
    assert [stop["name"] for stop in stops] == SIGN_FORM_ORDER
    for stop in header + stops:
        assert stop["outline"] or stop["shadow"], f"no visible focus on {stop['name']}"
    tops = dict(zip(SIGN_FORM_ORDER, (stop["top"] for stop in stops), strict=True))
    assert list(tops.values()) == sorted(tops.values()), f"the focus jumps up the page: {tops}"
    assert press(page, "Shift+Tab")["name"] == "consent"
    assert press(page, "Shift+Tab")["name"] == "Read the privacy notice"

    # Back to the name, and fill the form as a keyboard user does, with a typo in the email.
    for _ in range(SIGN_FORM_ORDER.index("Read the privacy notice")):
        page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED)["name"] == "full_name"
    page.keyboard.type("Amina Diallo")
    assert press(page, "Tab")["name"] == "email"
    page.keyboard.type("amina@@example")
    assert press(page, "Tab")["name"] == "city"
    page.keyboard.type("Calais")
    assert press(page, "Tab")["name"] == "country"
    page.keyboard.type("France")
    assert press(page, "Tab")["name"] == "affiliation"
    assert press(page, "Tab")["name"] == "show_publicly"
    page.keyboard.press("Space")
    assert press(page, "Tab")["name"] == "wants_updates"
    assert press(page, "Tab")["name"] == "will_attend"
    page.keyboard.press("Space")
    press(page, "Tab")  # the privacy notice's link
    assert press(page, "Tab")["name"] == "consent"
    page.keyboard.press("Space")
    assert press(page, "Tab")["name"] == "Sign"
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.keyboard.press("Enter")
    assert posted.value.status == 422
    page.wait_for_load_state()

    # The summary is announced (role=alert) and leads to the field to correct.
    summary = page.get_by_role("alert")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Email:")
    expect(summary.get_by_role("link")).to_have_count(1)
    stop = press(page, "Tab")
    while not stop["name"].startswith("Email: This email address cannot contain"):
        assert stop["tag"] == "a", f"Tab went past the error summary to {stop['name']}"
        stop = press(page, "Tab")
    assert stop["outline"] or stop["shadow"], "no visible focus on the summary's link"
    page.keyboard.press("Enter")  # follows the summary's link to the email field
    if page.evaluate(FOCUSED)["name"] != "email":
        assert press(page, "Tab")["name"] == "email"
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(SIGNER)
    for expected in SIGN_FORM_ORDER[2:]:
        stop = press(page, "Tab")
        assert stop["name"] == expected
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.keyboard.press("Enter")
    assert posted.value.status == 302

    expect(page).to_have_url(f"{live_server.url}/p/{SLUG}/check-your-email")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    (signature,) = live_server.signatures()
    assert (signature.full_name, signature.email, signature.city, signature.country) == (
        "Amina Diallo",
        SIGNER,
        "Calais",
        "FR",
    )
    assert signature.show_publicly is True and signature.will_attend is True
    assert signature.wants_updates is False
    assert signature.status is SignatureStatus.PENDING
