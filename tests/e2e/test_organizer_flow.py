"""An organization endorses, confirms by mail, is approved, listed, and exported: in chromium.

Each step leaves a screenshot in test-artifacts/organizer-flow/ (gitignored), named after it.
"""

import csv
import io

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from petition.exports import ORGANIZATION_COLUMNS
from petition.extensions import db
from petition.models import Endorsement, EndorsementStatus

from .conftest import DESKTOP, PHONE, SLUG, LiveServer, log_in, screenshot_taker

pytestmark = pytest.mark.e2e

OWNER = "owner@example.org"
CONTACT = "jean@example.org"
ORGANIZATION = "Collectif Solidarité Calais"


@pytest.fixture
def screenshots():
    """Saves a full-page screenshot per step, replacing the previous run's."""
    return screenshot_taker("organizer-flow")


def new_page(browser: Browser, live_server: LiveServer, phone: bool) -> Page:
    context = browser.new_context(
        base_url=live_server.url,
        viewport=PHONE if phone else DESKTOP,
        is_mobile=phone,
        has_touch=phone,
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def endorsement_status(live_server: LiveServer) -> list[EndorsementStatus]:
    with live_server.app.app_context():
        return list(db.session.execute(select(Endorsement.status)).scalars())


def test_endorsement_from_form_to_export(browser, live_server, screenshots):
    """The whole path of an endorsement, through the pages people use, step by step."""
    live_server.add_organizer(OWNER)

    # An organization's contact endorses the call on a phone.
    contact = new_page(browser, live_server, phone=True)
    contact.goto(f"/p/{SLUG}")
    screenshots(contact, "call-page")
    contact.get_by_role("link", name="Endorse as an organization").first.click()
    expect(contact).to_have_url(f"{live_server.url}/p/{SLUG}/endorse")
    contact.get_by_label("Organization", exact=True).fill(ORGANIZATION)
    contact.get_by_label("Type of organization").select_option(label="Collective")
    contact.get_by_label("City", exact=True).fill("Calais")
    contact.get_by_label("Country", exact=True).select_option("FR")
    contact.get_by_label("Website (optional)").fill("https://solidarite.example.org")
    contact.get_by_label("Your name").fill("Jean Martin")
    contact.get_by_label("Your email").fill(CONTACT)
    contact.get_by_label("Your role in the organization", exact=False).fill("Secretary")
    contact.get_by_label("Show the organization in the public list", exact=False).check()
    contact.get_by_label("I am authorized", exact=False).check()
    contact.get_by_label("I have read the privacy notice", exact=False).check()
    screenshots(contact, "endorse-form-filled")
    contact.get_by_role("button", name="Endorse", exact=True).click()
    expect(contact).to_have_url(f"{live_server.url}/p/{SLUG}/check-your-email")
    screenshots(contact, "check-your-email")
    assert endorsement_status(live_server) == [EndorsementStatus.PENDING]

    # The contact opens the link of the mail the service sent.
    (link,) = live_server.mailed_links(CONTACT, "confirm")
    assert link.startswith(f"{live_server.url}/confirm/")
    contact.goto(link)
    screenshots(contact, "confirm-link")
    contact.get_by_role("button", name="Confirm the endorsement").click()
    expect(contact).to_have_url(f"{live_server.url}/p/{SLUG}")
    expect(contact.locator(".flash-success")).to_contain_text("An organizer will review")
    screenshots(contact, "endorsement-confirmed")
    assert endorsement_status(live_server) == [EndorsementStatus.AWAITING_APPROVAL]
    contact.goto(f"/p/{SLUG}/organizations")
    expect(contact.locator("main")).not_to_contain_text(ORGANIZATION)

    # An organizer logs in on a desktop and approves it.
    organizer = new_page(browser, live_server, phone=False)
    organizer.goto("/organizer/login")
    screenshots(organizer, "login")
    log_in(organizer, OWNER)
    screenshots(organizer, "workspace")
    organizer.get_by_role("link", name="Open the borders").first.click()
    expect(organizer).to_have_url(f"{live_server.url}/organizer/p/{SLUG}")
    row = organizer.get_by_role("row").filter(has_text=ORGANIZATION)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(CONTACT)
    screenshots(organizer, "awaiting-approval")
    row.get_by_role("button", name="Approve").click()
    expect(organizer.locator(".flash-success")).to_have_text(f"{ORGANIZATION} approved.")
    expect(organizer.get_by_role("row").filter(has_text=ORGANIZATION)).to_have_count(0)
    screenshots(organizer, "approved")
    assert endorsement_status(live_server) == [EndorsementStatus.APPROVED]

    # The organization now shows in the public list. Public pages may be kept 30 s by
    # browsers and caches (Cache-Control max-age): the contact, who saw the list a moment
    # ago, reloads it.
    contact.goto(f"/p/{SLUG}/organizations")
    contact.reload()
    expect(contact.locator("main")).to_contain_text(ORGANIZATION)
    screenshots(contact, "public-organizations")

    # The organizer downloads the organizations' CSV export.
    organizer.goto(f"/organizer/p/{SLUG}/exports")
    organizer.get_by_label("Who", exact=True).select_option(label="Organizations")
    organizer.get_by_label("Format", exact=True).select_option(value="csv")
    screenshots(organizer, "export-form")
    with organizer.expect_download() as started:
        organizer.get_by_role("button", name="Download").click()
    download = started.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".csv")
    saved = screenshots.directory / download.suggested_filename
    download.save_as(saved)
    organizer.goto(f"/organizer/p/{SLUG}/exports")
    screenshots(organizer, "export-downloaded")

    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte order mark for spreadsheets"
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = next(reader)
    assert tuple(header) == ORGANIZATION_COLUMNS
    rows = [dict(zip(header, row, strict=True)) for row in reader]
    (exported,) = rows
    assert exported["organization"] == ORGANIZATION
    assert exported["org_type"] == "collective"
    assert exported["country"] == "FR"
    assert exported["city"] == "Calais"
    assert exported["contact_email"] == CONTACT
    assert exported["status"] == "approved"

    names = [path.name for path in screenshots.taken]
    assert len(names) == 12
    for path in screenshots.taken:
        assert path.stat().st_size > 0
    print("screenshots:", ", ".join(names), "and", saved.name, "in", screenshots.directory)
