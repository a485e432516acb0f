"""Signatures per second through the real form, served by gunicorn as in production.

    .venv/bin/python bench/sign_load.py                  # SQLite in a temporary file
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        .venv/bin/python bench/sign_load.py

Starts gunicorn (gunicorn.conf.py, WEB_CONCURRENCY workers, rate limits off, mails left in
the outbox for a separate sender), then CLIENTS threads each fetch the form once (session and
CSRF token) and post signatures with distinct addresses for SECONDS. It prints the rate of
accepted signatures and the latency percentiles. The load generator runs on the same machine
and takes CPU from the server: read the figure as a floor. It drops and recreates the tables
of DATABASE_URL: never point it at real data.
"""

import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = int(os.environ.get("CLIENTS", "16"))
SECONDS = float(os.environ.get("SECONDS", "15"))
WORKERS = os.environ.get("WEB_CONCURRENCY", "3")
PORT = int(os.environ.get("PORT", "8765"))
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def prepare(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    from petition import create_app
    from petition.extensions import db
    from petition.petitions import load_shipped_calls

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_shipped_calls()
        db.session.commit()
        db.engine.dispose()


def signer(client_number: int, stop: float, latencies: list, statuses: list) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    connection.request("GET", "/p/cispm-calais-2016-10-14/sign")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = next(
        value.split(";")[0]
        for name, value in response.getheaders()
        if name.lower() == "set-cookie" and value.startswith("session=")
    )
    token = CSRF.search(page).group(1)
    n = 0
    while time.monotonic() < stop:
        body = urllib.parse.urlencode(
            {
                "full_name": "Bench Signer",
                "email": f"c{client_number}n{n}@example.org",
                "city": "Calais",
                "country": "FR",
                "consent": "y",
                "csrf_token": token,
            }
        )
        began = time.perf_counter()
        connection.request(
            "POST",
            "/p/cispm-calais-2016-10-14/sign",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
        statuses.append(response.status)
        n += 1


def main() -> None:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    prepare(url)
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "SERVER_NAME": "127.0.0.1",
        "RATELIMIT_ENABLED": "false",
        "FLASK_MIN_FORM_SECONDS": "0",
        "MAIL_SEND_INLINE": "false",
        "ACCESS_LOG": "/dev/null",
        "BIND": f"127.0.0.1:{PORT}",
        "WEB_CONCURRENCY": WORKERS,
    }
    server = subprocess.Popen(  # noqa: S603 - our own server
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "petition:create_app()"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        latencies, statuses = [], []
        stop = time.monotonic() + SECONDS
        threads = [
            threading.Thread(target=signer, args=(c, stop, latencies, statuses))
            for c in range(CLIENTS)
        ]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
    finally:
        server.terminate()
        server.wait(30)
    accepted = statuses.count(302)
    if accepted < len(statuses):
        print("answers:", {status: statuses.count(status) for status in set(statuses)})
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"database {url.split(':')[0]}, {WORKERS} workers, {CLIENTS} clients, {elapsed:.0f} s")
    print(f"accepted {accepted} of {len(statuses)} posts: {accepted / elapsed:.0f} signatures/s")
    print(f"latency p50 {quantiles[49] * 1000:.0f} ms, p99 {quantiles[98] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
