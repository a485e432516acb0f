"""Faults against a live gunicorn: races, kill -9, SMTP and database outages, withdrawal.

Each test runs on the suite's database (SQLite, or PostgreSQL with TEST_DATABASE_URL),
with gunicorn and several workers started by the test, as in production.
"""

import http.client
import itertools
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import make_url

from petition.extensions import db
from petition.models import OutgoingMail, Petition, Signature

from .faults import (
    Gunicorn,
    Signer,
    TCPProxy,
    acknowledged,
    export_rows,
    flask_cli,
    person,
    server_environment,
)
from .helpers import SMTPServer, free_port

REQUIRED = ("full_name", "email", "email_normalized", "city", "country", "status")
REQUIRED_TIMES = ("signed_at", "consent_at", "privacy_notice_version", "token_key")


@pytest.fixture
def database_url(config) -> str:
    return config["SQLALCHEMY_DATABASE_URI"]


@pytest.fixture
def serve(database_url, tmp_path):
    """Start gunicorn on the test database; every server is stopped after the test."""
    servers = []

    def serve(**overrides: str) -> Gunicorn:
        port = free_port()
        environment = server_environment(database_url, port, **overrides)
        server = Gunicorn(environment, tmp_path / f"gunicorn-{port}.log")
        servers.append(server)
        server.start()
        return server

    yield serve
    for server in servers:
        server.stop()


@pytest.fixture
def smtp():
    """A real SMTP server on a free port, not started yet."""
    server = SMTPServer(free_port())
    yield server
    server.stop()


def stored(petition) -> list[Signature]:
    """The call's signatures as the database holds them now (a fresh transaction)."""
    db.session.rollback()
    query = select(Signature).filter_by(petition_id=petition.id).order_by(Signature.id)
    return list(db.session.execute(query).scalars())


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite")


def sign_url(server: Gunicorn, petition) -> str:
    return f"{server.url}/p/{petition.slug}/sign"


def sign_once(url: str, fields: dict) -> tuple[int, dict, str]:
    """A new person fetches the signing form at url and sends it."""
    signer = Signer()
    token = signer.form_token(url)
    assert token is not None, signer.get(url)[0]  # the form did not come: say why
    return signer.post(url, fields, token)


@pytest.mark.slow
def test_fifty_identical_submissions_store_one_signature(serve, petition):
    """50 browsers send the same address at the same moment: one row, 50 redirects, no 5xx."""
    server = serve(WEB_CONCURRENCY="4", GUNICORN_THREADS="4", MAIL_SEND_INLINE="false")
    url = sign_url(server, petition)
    signers = [Signer() for _ in range(50)]
    with ThreadPoolExecutor(50) as pool:
        tokens = list(pool.map(lambda signer: signer.form_token(url), signers))
    assert all(tokens)
    barrier = threading.Barrier(50)

    def submit(signer_and_token):
        signer, token = signer_and_token
        barrier.wait(30)
        return signer.post(url, person(1), token)

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(submit, zip(signers, tokens, strict=True)))

    assert Counter(status for status, _, _ in answers) == {302: 50}
    assert all(acknowledged(status, headers, petition.slug) for status, headers, _ in answers)
    (signature,) = stored(petition)
    assert signature.email == "signer1@example.org"
    queued = db.session.scalar(
        select(func.count()).select_from(OutgoingMail).filter_by(signature_id=signature.id)
    )
    # Each repeat mails the signer again, up to the cap that stops mail bombing.
    assert 1 <= queued == signature.mails_sent <= 5


@pytest.mark.slow
def test_twenty_concurrent_writers_never_see_database_is_locked(serve, petition, database_url):
    """20 people at once: each gets the redirect (SQLite: at worst 503 with Retry-After)."""
    server = serve(WEB_CONCURRENCY="4", GUNICORN_THREADS="4", MAIL_SEND_INLINE="false")
    url = sign_url(server, petition)
    signers = [Signer() for _ in range(20)]
    tokens = [signer.form_token(url) for signer in signers]
    barrier = threading.Barrier(20)

    def submit(n):
        barrier.wait(30)
        return signers[n].post(url, person(n), tokens[n])

    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(submit, range(20)))
    elapsed = time.monotonic() - started

    emails = {signature.email for signature in stored(petition)}
    for n, (status, headers, body) in enumerate(answers):
        assert "locked" not in body
        if acknowledged(status, headers, petition.slug):
            assert person(n)["email"] in emails
        else:
            assert is_sqlite(database_url), (status, body)
            assert status == 503 and headers.get("Retry-After"), (status, body)
            assert person(n)["email"] not in emails
    statuses = Counter(status for status, _, _ in answers)
    print(f"20 concurrent writers: {dict(statuses)} in {elapsed:.2f} s")
    if not is_sqlite(database_url):
        assert statuses == {302: 20}


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_signature_and_no_mail(
    serve, petition, database_url, smtp, runner
):
    """kill -9 of the workers, then of everything, under load: acknowledged means stored.

    Six clients sign continuously (distinct addresses). The workers are killed (the
    master replaces them), then the master and its workers (a crash), and gunicorn is
    started again. Every signer who got the redirect is in the database and the export,
    no row is partial, and `flask mail send` then mails each of them exactly once.
    """
    server = serve(MAIL_SEND_INLINE="false", WEB_CONCURRENCY="2")
    url, slug = sign_url(server, petition), petition.slug  # threads cannot load the petition
    acked: set[str] = set()
    outcomes: Counter = Counter()
    lock = threading.Lock()
    numbers = itertools.count()
    stop = threading.Event()

    def load():
        while not stop.is_set():
            with lock:
                fields = person(next(numbers))
            signer = Signer()
            token = signer.form_token(url)
            if token is None:
                outcomes["no form (server down)"] += 1
                time.sleep(0.02)
                continue
            try:
                status, headers, _ = signer.post(url, fields, token)
            except (OSError, http.client.HTTPException):
                outcomes["connection lost"] += 1
                continue
            with lock:
                if acknowledged(status, headers, slug):
                    acked.add(fields["email"])
                outcomes[status] += 1

    clients = [threading.Thread(target=load) for _ in range(6)]
    for client in clients:
        client.start()

    def signed_more(count: int) -> None:
        """Let the load run until `count` more signatures are acknowledged."""
        target = len(acked) + count
        deadline = time.monotonic() + 20
        while len(acked) < target and time.monotonic() < deadline:
            time.sleep(0.02)

    try:
        signed_more(15)
        killed = server.kill_workers()  # the master starts new workers
        signed_more(15)
        before_crash = len(acked)
        server.kill_all()
        time.sleep(0.3)
        restart = server.start()
        signed_more(15)
    finally:
        stop.set()
        for client in clients:
            client.join(30)
    server.stop()
    signatures = stored(petition)
    print(
        f"kill -9: {len(killed)} workers, then all; {len(acked)} signatures acknowledged "
        f"({before_crash} before the crash), {len(signatures)} stored; restart took "
        f"{restart:.2f} s; {dict(outcomes)}"
    )
    assert before_crash >= 30
    assert len(acked) >= before_crash + 15  # signing resumed after the restart
    assert 500 not in outcomes

    emails = {signature.email for signature in signatures}
    assert acked <= emails
    for signature in signatures:  # nothing half-written
        for column in REQUIRED + REQUIRED_TIMES:
            assert getattr(signature, column), (signature.id, column)
    if is_sqlite(database_url):
        assert db.session.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    # The mail is committed with its signature: one queued mail per row, none orphaned.
    mails = list(db.session.execute(select(OutgoingMail)).scalars())
    assert sorted(m.signature_id for m in mails) == [s.id for s in signatures]
    assert all(m.sent_at is None for m in mails)

    exported = export_rows(runner, petition.slug)
    assert len(exported) == len(signatures)
    assert acked <= {row["email"] for row in exported}

    smtp.start()
    environment = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port)}
    result = flask_cli(database_url, "mail", "send", **environment)
    assert result.returncode == 0, result.stderr
    assert f"{len(signatures)} sent, 0 failed" in result.stdout
    db.session.rollback()
    assert all(mail.sent_at is not None for mail in db.session.scalars(select(OutgoingMail)))
    received = Counter(to for envelope in smtp.inbox.envelopes for to in envelope.rcpt_tos)
    assert set(received) == emails
    assert set(received.values()) == {1}
    subjects = {message["Subject"] for message in smtp.inbox.messages()}
    assert subjects == {f"Please confirm your signature: {petition.title}"}


@pytest.mark.slow
def test_signing_while_the_smtp_server_is_down(serve, petition, database_url, smtp):
    """Nothing listens on the SMTP port: signatures are stored and acknowledged, mails wait."""
    server = serve(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port), MAIL_SEND_INLINE="true")
    url = sign_url(server, petition)
    people = [person(n) for n in range(6)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda fields: sign_once(url, fields), people))
    assert all(acknowledged(status, headers, petition.slug) for status, headers, _ in answers)
    assert {s.email for s in stored(petition)} == {p["email"] for p in people}

    # The workers try to send beside the response, fail, and leave the mails queued.
    deadline = time.monotonic() + 15
    while True:
        db.session.rollback()
        mails = list(db.session.execute(select(OutgoingMail)).scalars())
        if len(mails) == 6 and all(m.attempts >= 1 for m in mails):
            break
        assert time.monotonic() < deadline, [(m.attempts, m.last_error) for m in mails]
        time.sleep(0.1)
    assert all(m.sent_at is None and "Connection refused" in m.last_error for m in mails)

    smtp.start()
    environment = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port)}
    first = flask_cli(database_url, "mail", "send", **environment)
    assert first.returncode == 0, first.stderr
    assert "6 sent, 0 failed" in first.stdout
    second = flask_cli(database_url, "mail", "send", **environment)
    assert "0 sent, 0 failed" in second.stdout
    received = Counter(to for envelope in smtp.inbox.envelopes for to in envelope.rcpt_tos)
    assert received == {p["email"]: 1 for p in people}
    db.session.rollback()
    assert (
        db.session.scalar(
            select(func.count()).select_from(OutgoingMail).where(OutgoingMail.sent_at.is_(None))
        )
        == 0
    )


@pytest.mark.slow
def test_the_database_unavailable_then_back(serve, petition, database_url):
    """The database goes away: 503 and nothing acknowledged; it comes back: signing resumes.

    PostgreSQL: gunicorn reaches it through a TCP proxy, which is cut (listener and every
    connection closed) and restored on the same port. SQLite: another process holds the
    write lock past the busy timeout (a stuck maintenance job); renaming the file or
    chmod 000 would not fail realistically, as pooled connections keep their open files
    (and root ignores permissions) while new ones would create an empty database.
    """
    workers = 4
    if is_sqlite(database_url):
        proxy = None
        path = make_url(database_url).database
        server = serve(
            FLASK_SQLITE_BUSY_TIMEOUT_MS="1000",
            MAIL_SEND_INLINE="false",
            WEB_CONCURRENCY=str(workers),
        )
    else:
        target = make_url(database_url)
        proxy = TCPProxy((target.host or "127.0.0.1", target.port or 5432), free_port())
        proxy.start()
        through_proxy = target.set(port=proxy.port).render_as_string(hide_password=False)
        server = serve(
            DATABASE_URL=through_proxy, MAIL_SEND_INLINE="false", WEB_CONCURRENCY=str(workers)
        )
    url = sign_url(server, petition)
    try:
        # Concurrent signings, so that every worker has pooled connections.
        with ThreadPoolExecutor(4 * workers) as pool:
            warm = list(pool.map(lambda n: sign_once(url, person(n)), range(4 * workers)))
        assert all(acknowledged(status, headers, petition.slug) for status, headers, _ in warm)
        waiting = Signer()
        token = waiting.form_token(url)

        if proxy is not None:
            proxy.cut()
        else:
            locker = sqlite3.connect(path, isolation_level=None, timeout=10)
            locker.execute("BEGIN IMMEDIATE")
        # One refused signer and one health check: most workers learn nothing of the
        # outage, so they still hold their pooled connections when the database is back.
        refused = time.monotonic()
        status, headers, body = waiting.post(url, person(100), token)
        refused = time.monotonic() - refused
        assert status == 503, body
        assert headers.get("Retry-After") == "30"
        assert "Temporarily unavailable" in body
        assert "Nothing you sent was recorded" in body
        if proxy is not None:
            assert Signer().get(f"{server.url}/healthz")[0] == 503

        if proxy is not None:
            proxy.start()
        else:
            locker.execute("ROLLBACK")
            locker.close()
        restored = time.monotonic()
        # No restart: the next people sign at once, whichever worker answers them.
        answers = [sign_once(url, person(200 + n)) for n in range(3 * workers)]
        recovery = time.monotonic() - restored
        assert [status for status, _, _ in answers] == [302] * (3 * workers)
        assert all(acknowledged(status, headers, petition.slug) for status, headers, _ in answers)
    finally:
        if proxy is not None:
            proxy.cut()
    kind = "proxy cut" if proxy is not None else "write lock held"
    print(f"{kind}: refused in {refused:.2f} s; {3 * workers} signed in {recovery:.2f} s after")

    emails = {signature.email for signature in stored(petition)}
    assert person(100)["email"] not in emails
    assert {person(200 + n)["email"] for n in range(3 * workers)} <= emails


def test_withdrawal_erases_the_signer_everywhere(client, runner, petition, mails):
    """The mailed withdraw link deletes the person: database, public list, every later export."""
    leaving, staying = person(1), person(2)
    for fields in (leaving, staying):
        assert client.post(f"/p/{petition.slug}/sign", data=fields).status_code == 302
        (message,) = mails.to(fields["email"])
        (token,) = mails.links(message, "confirm")
        assert client.post(f"/confirm/{token}").status_code == 302

    def public_list() -> str:
        response = client.get(f"/p/{petition.slug}/signers")
        assert response.status_code == 200
        return response.text

    def exported() -> str:
        result = runner.invoke(args=["export", petition.slug, "--all-statuses"])
        assert result.exit_code == 0, result.output
        return result.output

    assert leaving["full_name"] in public_list() and staying["full_name"] in public_list()
    assert leaving["email"] in exported() and staying["email"] in exported()

    (withdraw_token,) = mails.links(mails.to(leaving["email"])[0], "withdraw")
    page = client.get(f"/withdraw/{withdraw_token}")
    assert page.status_code == 200
    response = client.post(f"/withdraw/{withdraw_token}")
    assert response.status_code == 302
    assert response.location.endswith(f"/p/{petition.slug}")

    assert leaving["full_name"] not in public_list()
    assert staying["full_name"] in public_list()
    export = exported()
    assert leaving["email"] not in export and leaving["full_name"] not in export
    assert staying["email"] in export

    # Nowhere in the database: not in a signature, a sent mail, the audit log or a manifest.
    db.session.rollback()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            held = repr(tuple(row))
            assert leaving["email"] not in held, table.name
            assert leaving["full_name"] not in held, table.name
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Signature)
            .where(or_(Signature.email == leaving["email"], Signature.full_name.like("%signer 1")))
        )
        == 0
    )
    assert db.session.get(Petition, petition.id).signatures_withdrawn == 1
    # The link dies with the row: using it again finds nothing.
    assert client.post(f"/withdraw/{withdraw_token}").status_code == 404
