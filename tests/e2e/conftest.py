"""Browser fixtures shared by the e2e tests: Debian's chromium and the app served for real."""

import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from petition import create_app, mail
from petition.auth import create_organizer
from petition.extensions import db
from petition.models import OrganizerRole, Signature
from petition.petitions import CallContent, save_call

from ..conftest import ORGANIZER_PASSWORD, database_url, fresh_schema
from ..helpers import SMTPServer, free_port
from .axe import read_axe_source

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# Screenshots of the journeys, kept by CI as artifacts (gitignored).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SLUG = "open-the-borders"
TITLE = "Open the borders"
DEMANDS = ["Papers for all", "Close the camps"]
CONFIRM_LINK = re.compile(r"https?://\S+/confirm/\S+")
MAILED_LINK = re.compile(r"https?://\S+/(?:confirm|withdraw)/\S+")


class _MailCatcher(logging.Handler):
    """Keeps the mails the app logs instead of sending (no MAIL_SERVER), from any thread."""

    def __init__(self, box: list):
        super().__init__(logging.INFO)
        self.box = box

    def emit(self, record):
        if hasattr(record, "mail"):
            self.box.append(record.mail)


@dataclass
class LiveServer:
    """The app answering on a real socket, with what it mailed."""

    url: str
    app: Flask
    mails: list = field(default_factory=list)

    def confirm_link(self, address: str) -> str:
        """The confirmation link of the one mail sent to an address (sent after the response)."""
        mail.wait_for_senders()
        (message,) = [m for m in self.mails if m["To"] == address]
        (link,) = CONFIRM_LINK.findall(message.get_content())
        return link

    def mailed_links(self, address: str, kind: str) -> list[str]:
        """Every confirm or withdraw link mailed to an address, oldest first."""
        mail.wait_for_senders()
        contents = [m.get_content() for m in self.mails if m["To"] == address]
        links = [link for text in contents for link in MAILED_LINK.findall(text)]
        return [link for link in links if f"/{kind}/" in link]

    def add_organizer(self, email: str, role: str = "owner") -> str:
        """An organizer account (an owner works on every call); returns its email."""
        with self.app.app_context():
            create_organizer(email, ORGANIZER_PASSWORD, role=OrganizerRole(role))
            db.session.commit()
        return email

    def signatures(self) -> list[Signature]:
        with self.app.app_context():
            rows = db.session.execute(select(Signature)).scalars().all()
            db.session.expunge_all()
            return rows


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, shared by every browser test (missing: the tests fail)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(tmp_path):
    """A fresh database with one open call, served by werkzeug on 127.0.0.1 (CSRF on).

    Mails are logged instead of sent, and caught in `live_server.mails`.
    """
    with serving(tmp_path, MAIL_SERVER=None) as live:
        yield live


@pytest.fixture
def live_server_with_smtp(tmp_path):
    """The same, sending its mails to a real SMTP server (aiosmtpd) on 127.0.0.1."""
    smtp = SMTPServer(free_port())
    smtp.start()
    try:
        with serving(tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port) as live:
            live.smtp = smtp
            yield live
    finally:
        smtp.stop()


@contextmanager
def serving(tmp_path, **settings):
    """The app on a real socket in a thread, until the block ends."""
    app = create_app(
        {
            "SECRET_KEY": "e2e secret key, not for production",
            "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
            "SERVER_NAME": None,  # links follow the host the browser used
            "MIN_FORM_SECONDS": 0,  # the browser fills forms faster than any person
            **settings,
        }
    )
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    with app.app_context():
        fresh_schema()
        save_call(
            CallContent(
                slug=SLUG,
                title=TITLE,
                summary="A call for freedom of movement.",
                body="We call for **freedom of movement**.",
                demands=DEMANDS,
                event_starts_at=datetime(2030, 10, 14, 14, 0, tzinfo=UTC),
                event_timezone="Europe/Paris",
                event_place="Place d’Armes",
                event_address="Place d’Armes, 62100 Calais, France",
            )
        )
        db.session.commit()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    live = LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    catcher = _MailCatcher(live.mails)
    logger = logging.getLogger("petition.mail")
    logger.addHandler(catcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        mail.wait_for_senders()
        logger.removeHandler(catcher)
        with app.app_context():
            db.engine.dispose()


def screenshot_taker(folder: str):
    """shoot(page, step): a full-page screenshot per step, in test-artifacts/<folder>/."""
    directory = ARTIFACTS / folder
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*"):
        old.unlink()
    taken: list[Path] = []

    def shoot(page: Page, step: str) -> Path:
        page.wait_for_load_state("load")
        path = directory / f"{len(taken) + 1:02d}-{step}.png"
        page.screenshot(path=path, full_page=True)
        taken.append(path)
        return path

    shoot.taken = taken
    shoot.directory = directory
    return shoot


def log_in(page: Page, email: str, password: str = ORGANIZER_PASSWORD) -> None:
    """Log in through the organizers' login form, landing in the workspace."""
    page.goto("/organizer/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/organizer/$"))


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's source (tests/e2e/axe.py); missing node_modules is a failure, never a skip."""
    return read_axe_source()
