"""Two gunicorn servers, as in production, sharing one database and one Redis: one service."""

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest

from .helpers import ROOT, Browser, SMTPServer, free_port

LINK = re.compile(r"https?://\S+/confirm/(\S+)")


@pytest.fixture
def servers(config, petition, tmp_path):
    """Two gunicorn instances (two workers each) on two ports, mail to a real SMTP server."""
    smtp = SMTPServer(free_port())
    smtp.start()
    ports = [free_port(), free_port()]
    environment = {
        **os.environ,
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "shared by every server " + uuid.uuid4().hex,
        "SERVER_NAME": f"127.0.0.1:{ports[0]}",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "FLASK_RATELIMIT_KEY_PREFIX": f"petition-test-{uuid.uuid4().hex}",
        "FLASK_RATELIMIT_SIGN": "3 per minute",
        "FLASK_MIN_FORM_SECONDS": "0",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "WEB_CONCURRENCY": "2",
    }
    processes, logs, outputs = [], [], []
    for port in ports:
        log = tmp_path / f"gunicorn-{port}.log"
        logs.append(log)
        outputs.append(log.open("w"))
        processes.append(
            subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "gunicorn.conf.py",
                    "petition:create_app()",
                ],
                cwd=ROOT,
                env={**environment, "BIND": f"127.0.0.1:{port}"},
                stdout=outputs[-1],
                stderr=subprocess.STDOUT,
            )
        )
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    for url, process, log in zip(urls, processes, logs, strict=True):
        deadline = time.monotonic() + 30
        while True:
            try:
                if Browser().get(f"{url}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    yield urls, smtp, logs
    for process in processes:
        process.terminate()
    for process, output in zip(processes, outputs, strict=True):
        process.wait(timeout=30)
        output.close()
    smtp.stop()


def signer(n: int) -> dict:
    return {
        "full_name": f"Signer {n}",
        "email": f"signer{n}@example.org",
        "city": "Calais",
        "country": "FR",
        "consent": "y",
    }


def test_sign_on_one_server_confirm_on_the_other(servers, petition):
    (first, second), smtp, logs = servers
    status, _ = Browser().post_form(f"{first}/p/{petition.slug}/sign", signer(1))
    assert status == 302

    deadline = time.monotonic() + 15
    while not smtp.inbox.envelopes and time.monotonic() < deadline:
        time.sleep(0.1)
    (message,) = smtp.inbox.messages()
    token = LINK.search(message.get_content()).group(1)

    other = Browser()  # another person's browser, on the other server
    status, _ = other.post_form(f"{second}/confirm/{token}", {})
    assert status == 302
    status, counts = Browser().get(f"{first}/p/{petition.slug}.json")
    assert json.loads(counts)["individuals"] == 1

    log = "".join(path.read_text() for path in logs)
    assert "/confirm/[token]" in log
    assert token not in log  # the access log never holds a token


def test_rate_limits_are_shared_by_the_servers(servers, petition):
    (first, second), _, _ = servers
    browser = Browser()
    statuses = [
        browser.post_form(f"{url}/p/{petition.slug}/sign", signer(n))[0]
        for n, url in enumerate([first, second, first, second])
    ]
    assert statuses == [302, 302, 302, 429]
