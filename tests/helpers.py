"""What tests share: live servers' browser, a real SMTP server, free ports."""

import email
import email.policy
import http.cookiejar
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


class Browser:
    """urllib with cookies, not following redirects: enough to use the forms."""

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def get(self, url: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(url))  # noqa: S310 - http to our servers

    def post_form(self, url: str, fields: dict) -> tuple[int, str]:
        """GET the form for its CSRF token, then POST it."""
        _, page = self.get(url)
        data = urllib.parse.urlencode({**fields, "csrf_token": CSRF.search(page).group(1)})
        return self._open(urllib.request.Request(url, data=data.encode()))  # noqa: S310

    def _open(self, request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def free_port() -> int:
    """A TCP port nothing listens on (Controller cannot bind port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts, and refuses some recipients
    for good (550), as a mail provider refuses an address that does not exist."""

    def __init__(self, refused=()):
        self.envelopes = []
        self.refused = set(refused)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(envelope.content, policy=email.policy.default)
            for envelope in self.envelopes
        ]

    def wait_for(self, recipient: str, count: int = 1, timeout: float = 15):
        """The messages to a recipient, once `count` of them have come (or a failure)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages() if m["To"] == recipient]
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, f"no mail to {recipient}"
            time.sleep(0.05)


class SMTPServer:
    """A real SMTP server on 127.0.0.1:<port>, started only when a test asks."""

    def __init__(self, port: int, refused=()):
        self.port = port
        self.inbox = Inbox(refused)
        self.controller = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class LiveServer:
    """The service as the README runs it, in a child process writing to a log file:
    `gunicorn -c gunicorn.conf.py` (production) or `flask run` (Werkzeug's server)."""

    def __init__(self, kind: str, environment: dict, log: Path):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.environment = {**environment, "SERVER_NAME": f"127.0.0.1:{port}"}
        if kind == "gunicorn":
            self.command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
            self.command.append("petition:create_app()")
            self.environment["BIND"] = f"127.0.0.1:{port}"
        else:
            self.command = [sys.executable, "-m", "flask", "--app", "petition", "run"]
            self.command += ["--host", "127.0.0.1", "--port", str(port)]
        self.process = None

    def start(self, timeout: float = 30) -> None:
        """Start, then wait until /healthz answers."""
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
                self.command, cwd=ROOT, env=self.environment, stdout=output, stderr=output
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if Browser().get(f"{self.url}/healthz")[0] == 200:
                    return
            except OSError:
                pass
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def stop(self) -> str:
        """Stop the server (its log flushed) and return everything it wrote."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.log.read_text()


def organizers_actions():
    """The audit entries of what happened after the test's setting was made: the accounts its
    fixtures create are recorded too ("create_account"), and are not what a test checks."""
    from sqlalchemy import select

    from petition.extensions import db
    from petition.models import AuditEntry

    query = select(AuditEntry).where(AuditEntry.action != "create_account")
    return db.session.scalars(query.order_by(AuditEntry.id)).all()
