"""Logs are personal data: every journey, run on a live server, leaves no one in its log.

Under gunicorn (production) and `flask run` (Werkzeug's server), with a real SMTP server
that refuses one address for good: signing, confirming, endorsing, an organizer's search
and export, an invitation taken up, a mail refused, a rate limit hit, a withdrawal. Then
everything the server wrote is searched for the addresses, names and links used, and for
a client address beside any route.
"""

import os
import re
import uuid
from urllib.parse import quote, urlencode

import pytest

from .conftest import ORGANIZER_PASSWORD
from .helpers import Browser, LiveServer, SMTPServer, free_port

pytestmark = pytest.mark.slow

SIGNER = {"full_name": "Amina Zeroual", "email": "amina.logtest@example.org"}
REFUSED = {"full_name": "Refused Person", "email": "refused.logtest@example.org"}
CONTACT = {"contact_name": "Jean Logtest", "contact_email": "jean.logtest@example.org"}
ORGANIZATION = "Collectif Logtest"
OWNER = "owner.logtest@example.org"
INVITEE = "invitee.logtest@example.org"
LINK = re.compile(r"https?://\S+?/(confirm|withdraw|organizer/invitation)/(\S+)")
# Lines that name the server's own address, not a client's.
STARTUP = re.compile(r"Listening at|Running on|Press CTRL")


def links(message) -> dict[str, str]:
    return {kind: token for kind, token in LINK.findall(message.get_content())}


def signing_form(person: dict) -> dict:
    return {**person, "city": "Calais", "country": "FR", "show_publicly": "y", "consent": "y"}


def run_every_journey(url: str, slug: str, smtp: SMTPServer) -> list[str]:
    """What people do with the service; returns the secrets its mails carried."""
    secrets = []
    signer = Browser()
    assert signer.post_form(f"{url}/p/{slug}/sign", signing_form(SIGNER))[0] == 302
    mailed = links(smtp.inbox.wait_for(SIGNER["email"])[0])
    secrets += mailed.values()
    assert signer.get(f"{url}/confirm/{mailed['confirm']}")[0] == 200
    assert signer.post_form(f"{url}/confirm/{mailed['confirm']}", {})[0] == 302

    contact = Browser()
    endorsement = {
        "organization": ORGANIZATION,
        "org_type": "collective",
        "country": "FR",
        "city": "Lille",
        "contact_role": "Secretary",
        "authorized": "y",
        "consent": "y",
        **CONTACT,
    }
    assert contact.post_form(f"{url}/p/{slug}/endorse", endorsement)[0] == 302
    endorsed = links(smtp.inbox.wait_for(CONTACT["contact_email"])[0])
    secrets += endorsed.values()
    assert contact.post_form(f"{url}/confirm/{endorsed['confirm']}", {})[0] == 302

    # A mail refused for good (550): the failure is logged without the address.
    assert Browser().post_form(f"{url}/p/{slug}/sign", signing_form(REFUSED))[0] == 302

    owner = Browser()
    login = {"email": OWNER, "password": ORGANIZER_PASSWORD}
    assert owner.post_form(f"{url}/organizer/login", login)[0] == 302
    search = urlencode({"email": SIGNER["email"], "name": "Zeroual"})
    assert owner.get(f"{url}/organizer/p/{slug}/signatures?{search}")[0] == 200
    assert owner.get(f"{url}/organizer/p/{slug}/export/individuals.csv")[0] == 200
    invitation = {"email": INVITEE, "role": "organizer"}
    assert owner.post_form(f"{url}/organizer/accounts", invitation)[0] == 302
    invited = links(smtp.inbox.wait_for(INVITEE)[0])["organizer/invitation"]
    secrets.append(invited)
    password = {"new_password": "a long new password", "repeat_password": "a long new password"}
    assert Browser().post_form(f"{url}/organizer/invitation/{invited}", password)[0] == 302

    # Past the rate limit: Flask-Limiter logs the breach with its key.
    crowd = Browser()
    for n in range(3):
        crowd.post_form(f"{url}/p/{slug}/sign", signing_form({**SIGNER, "email": f"c{n}@x.org"}))

    assert signer.post_form(f"{url}/withdraw/{mailed['withdraw']}", {})[0] == 302
    return secrets


@pytest.fixture
def live(config, petition, make_organizer, tmp_path):
    """Start a server of a kind, with mail to a real SMTP server that refuses one address."""
    make_organizer(OWNER, role="owner")
    smtp = SMTPServer(free_port(), refused=[REFUSED["email"]])
    smtp.start()
    servers = []

    def start(kind: str, **environment: str) -> LiveServer:
        server = LiveServer(
            kind,
            {
                **{k: v for k, v in os.environ.items() if k != "LOG_CLIENT_ADDRESSES"},
                "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
                "SECRET_KEY": "log test key " + uuid.uuid4().hex,
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": str(smtp.port),
                "FLASK_MIN_FORM_SECONDS": "0",
                "FLASK_RATELIMIT_SIGN": "4 per minute",
                "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
                "FLASK_RATELIMIT_KEY_PREFIX": f"petition-logs-{uuid.uuid4().hex}",
                "WEB_CONCURRENCY": "2",
                **environment,
            },
            tmp_path / f"{kind}.log",
        )
        servers.append(server)
        server.start()
        return server

    yield start, smtp
    for server in servers:
        server.stop()
    smtp.stop()


def identifying(log: str, secrets: list[str]) -> list[str]:
    """Everything in the log that points at a person."""
    people = [SIGNER, REFUSED, CONTACT, {"o": ORGANIZATION, "a": OWNER, "i": INVITEE}]
    found = [value for person in people for value in person.values() if value in log]
    found += [quote(v, safe="") for p in people for v in p.values() if quote(v, safe="") in log]
    found += [name for name in ("Amina", "Zeroual", "Logtest") if name in log]
    found += [secret for secret in secrets if secret in log]
    found += [line for line in log.splitlines() if "127.0.0.1" in line and not STARTUP.search(line)]
    return found


@pytest.mark.parametrize("kind", ["gunicorn", "flask"])
def test_no_log_line_holds_a_person_a_secret_or_a_client_address(live, petition, kind):
    start, smtp = live
    server = start(kind)
    secrets = run_every_journey(server.url, petition.slug, smtp)
    log = server.stop()

    assert identifying(log, secrets) == []
    # The log did record the journeys, with what identifies people taken out.
    assert f"/p/{petition.slug}/sign" in log
    assert "/confirm/[token]" in log and "/withdraw/[token]" in log
    assert "/organizer/invitation/[token]" in log
    assert "email=[redacted]&name=[redacted]" in log
    assert "failed for good: recipient refused: 550" in log
    assert re.search(rf"POST /p/{petition.slug}/sign HTTP/1.1\S*\" 429", log)


def test_client_addresses_are_logged_only_when_asked(live, petition):
    start, smtp = live
    server = start("gunicorn", LOG_CLIENT_ADDRESSES="true")
    Browser().post_form(f"{server.url}/p/{petition.slug}/sign", signing_form(SIGNER))
    log = server.stop()
    sign_lines = [line for line in log.splitlines() if f"/p/{petition.slug}/sign" in line]
    assert sign_lines and all("127.0.0.1" in line for line in sign_lines)
    # Addresses of people stay out all the same.
    assert SIGNER["email"] not in log and SIGNER["full_name"] not in log
