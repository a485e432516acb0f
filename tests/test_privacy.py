"""What an outside review found (issue 13): logs, mails that fail for good, secrets in URLs.

tests/test_logs.py runs the journeys on live servers; here each rule on its own.
"""

import logging
import smtplib
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import url_for
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from petition import logs, mail, retention, signing
from petition.extensions import db
from petition.models import OutgoingMail, PetitionStatus, Signature, utcnow

from .conftest import signature_fields
from .helpers import SMTPServer, free_port

SECRET = "SeCrEt-ToKeN.abc_123-XYZ"


# --- no secret in any log ---


def test_every_route_carrying_a_token_is_redacted_in_the_logs(app):
    """Enumerated from the URL map: a new route with a <token> cannot be forgotten."""
    routes = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert {rule.endpoint for rule in routes} >= {
        "sign.confirm",
        "sign.withdraw",
        "auth.accept_invitation",
    }
    with app.test_request_context():
        for rule in routes:
            url = url_for(rule.endpoint, token=SECRET)
            line = f'203.0.113.7 - - "GET {url}?lang=fr HTTP/1.1" 200'
            assert SECRET not in logs.redact(line), rule.rule
            assert "[token]" in logs.redact(line)


@pytest.mark.parametrize("path", ["/organizer/login", f"/organizer/invitation/{SECRET}"])
def test_login_and_invitation_pages_are_never_cached(client, path):
    for response in (client.get(path), client.post(path, data={})):
        assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("line", "kept", "gone"),
    [
        ("GET /organizer/p/x/signatures?email=amina%40example.org&page=2", "page=2", "amina"),
        ("GET /organizer/p/x/signatures?name=Amina+Diallo&status=pending", "status=", "Amina"),
        ("GET /organizer/p/x/signatures?domain=example.org", "domain=[redacted]", "example.org"),
        ("mail to amina.diallo+calais@example.org failed", "mail to [email] failed", "amina"),
        ("DETAIL:  Key (petition_id, email_normalized)=(1, a@b.org) already exists.", "(", "a@b"),
        ("DETAIL:  Failing row contains (7, 1, Amina Diallo, Calais).", "Failing row", "Amina"),
        ("Referer: https://x.example/withdraw/abc.def?x=1", "/withdraw/[token]", "abc.def"),
    ],
)
def test_redaction_keeps_what_helps_and_drops_what_identifies(line, kept, gone):
    redacted = logs.redact(line)
    assert kept in redacted
    assert gone not in redacted


def make_record(name: str, message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.getLogger(name).makeRecord(
        name, logging.INFO, __file__, 1, message, args, exc_info
    )


def test_every_record_of_the_process_is_redacted_as_it_is_made(app):
    assert make_record("any.library", "to %s", "x@example.org").getMessage() == "to [email]"
    # The development server's request lines start with the client's address.
    line = make_record("werkzeug", '%s - - [date] "%s" 302 -', "203.0.113.7", "POST /p/x/sign")
    assert line.getMessage() == '- - - [date] "POST /p/x/sign" 302 -'
    breach = "ratelimit %s (%s) exceeded at endpoint: %s"
    limiter = make_record("flask-limiter", breach, "20/min", "203.0.113.7:x", "sign.sign")
    assert "203.0.113.7" not in limiter.getMessage()
    try:
        raise ValueError("bad address amina@example.org")
    except ValueError:
        import sys

        failure = make_record("petition", "failed", exc_info=sys.exc_info())
    formatted = logging.Formatter().format(failure)
    assert "amina@example.org" not in formatted and "[email]" in formatted


def test_client_addresses_are_kept_only_when_the_setting_asks(make_app):
    try:
        make_app(LOG_CLIENT_ADDRESSES=True)
        line = make_record("werkzeug", '%s - - [date] "%s"', "203.0.113.7", "POST /p/x/sign")
        assert line.getMessage().startswith("203.0.113.7")
    finally:
        logs.install(client_addresses=False)


def test_database_errors_never_quote_the_values_sent(app, petition):
    """A failed INSERT's message, once in a log line, names no value sent: SQLAlchemy hides its
    parameters (hide_parameters), and the row PostgreSQL quotes back is redacted."""
    with pytest.raises(DBAPIError) as failure:
        db.session.execute(
            text(
                "INSERT INTO signature (petition_id, full_name, email, email_normalized, city,"
                " country, show_publicly, wants_updates, will_attend, status, source, hidden,"
                " signed_at, consent_at, privacy_notice_version, token_key, mails_sent)"
                " VALUES (:p, :name, :email, :email, 'Calais', 'F', false, false, false,"
                " 'pending', 'web', false, :now, :now, 'v', 'k', 0)"  # a one-letter country
            ),
            {"p": petition.id, "name": "Amina Secret", "email": "a@example.org", "now": utcnow()},
        )
    db.session.rollback()
    assert "[SQL parameters hidden" in str(failure.value)
    logged = make_record("sqlalchemy", "%s", failure.value).getMessage()
    assert "Amina Secret" not in logged and "a@example.org" not in logged


# --- mail that fails for good stops ---


@pytest.fixture
def refusing_smtp(config):
    """A real SMTP server that refuses one address for good (550)."""
    server = SMTPServer(free_port(), refused=["gone@example.org"])
    config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=5)
    config.update(MAIL_SEND_INLINE=False)
    server.start()
    yield server
    server.stop()


def queued(petition, email: str) -> OutgoingMail:
    signing.sign(petition, **signature_fields(email=email))
    db.session.commit()
    return db.session.scalars(select(OutgoingMail).filter_by(recipient=email)).one()


def test_a_permanent_refusal_is_not_retried_and_organizers_see_it(
    refusing_smtp, app, petition, logged_in, caplog
):
    outgoing = queued(petition, "gone@example.org")
    delivered = queued(petition, "amina@example.org")
    with caplog.at_level(logging.WARNING, "petition.mail"):
        assert mail.send_pending(due_only=False) == (1, 1)
    db.session.expire_all()
    assert outgoing.failed_at is not None and outgoing.sent_at is None
    assert outgoing.body == ""  # its links were keys to the signature
    assert outgoing.last_error.startswith("recipient refused: 550 5.1.1")
    assert "gone@example.org" not in outgoing.last_error
    assert "gone@example.org" not in caplog.text and "failed for good" in caplog.text
    assert delivered.sent_at is not None
    # Never claimed again, even by an operator's `mail send` of everything.
    assert mail.send_pending(due_only=False) == (0, 0)
    assert [m["To"] for m in refusing_smtp.inbox.messages()] == ["amina@example.org"]

    page = logged_in.get(f"/organizer/signatures/{outgoing.signature_id}").text
    assert "Undeliverable" in page and "550 5.1.1" in page
    other = logged_in.get(f"/organizer/signatures/{delivered.signature_id}").text
    assert "Undeliverable" not in other


def test_an_undeliverable_signature_follows_the_unconfirmed_retention(refusing_smtp, app, petition):
    outgoing = queued(petition, "gone@example.org")
    mail.send_pending(due_only=False)
    signature = db.session.get(Signature, outgoing.signature_id)
    signature.signed_at = utcnow() - timedelta(days=31)
    db.session.commit()
    retention.purge_unconfirmed(30)
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(Signature)) == 0
    assert db.session.scalar(select(db.func.count()).select_from(OutgoingMail)) == 0


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"no such user")}), True),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"mailbox busy")}), False),
        (smtplib.SMTPDataError(554, b"message refused"), True),
        (smtplib.SMTPDataError(451, b"try later"), False),
        (smtplib.SMTPSenderRefused(550, b"bad sender", "us@example.org"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad login"), False),
        (smtplib.SMTPServerDisconnected("gone"), False),
        (ConnectionRefusedError(111, "refused"), False),
    ],
)
def test_only_a_refusal_of_the_recipient_or_message_is_permanent(error, permanent):
    assert mail.is_permanent(error) is permanent
    assert "a@example.org" not in mail.describe_failure(error)


def test_temporary_failures_are_retried_then_given_up_after_the_maximum_age(app, petition, config):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_SEND_INLINE=False)
    outgoing = queued(petition, "amina@example.org")
    assert mail.send_pending(due_only=False) == (0, 1)  # nobody listens on that port
    db.session.expire_all()
    assert outgoing.failed_at is None and outgoing.next_attempt_at > utcnow()
    assert "/confirm/" in outgoing.body  # kept for the next attempt

    outgoing.created_at = utcnow() - timedelta(hours=app.config["MAIL_GIVE_UP_HOURS"], minutes=1)
    db.session.commit()
    assert mail.send_pending(due_only=False) == (0, 1)
    db.session.expire_all()
    assert outgoing.failed_at is not None and outgoing.body == ""


def test_without_a_mail_server_mails_go_to_files_and_the_log_says_only_where(
    app, petition, caplog, tmp_path
):
    app.instance_path = str(tmp_path / "instance")
    with caplog.at_level(logging.INFO, "petition.mail"):
        signing.sign(petition, **signature_fields(email="amina@example.org"))
        db.session.commit()
        mail.send_pending(due_only=False)
    (written,) = (tmp_path / "instance" / "mail").iterdir()
    assert written.stat().st_mode & 0o777 == 0o600
    content = written.read_text()
    assert "To: amina@example.org" in content and "/confirm/" in content
    assert str(written) in caplog.text
    assert "amina" not in caplog.text and "/confirm/" not in caplog.text
    assert "Amina" not in caplog.text and quote("amina@example.org") not in caplog.text



# --- the audit trail forgets people ---

VICTIM = {"full_name": "Victoria Quenneville", "email": "victoria.q@example.org"}


def database_dump() -> str:
    """Every row of every table, as text."""
    rows = []
    for table in db.metadata.sorted_tables:
        rows += [repr(tuple(row)) for row in db.session.execute(select(table))]
    return "\n".join(rows)


def traces_of(person: dict, text: str) -> list[str]:
    words = [person["email"], *person["full_name"].split()]
    return [word for word in words if word.casefold() in text.casefold()]


def test_a_withdrawn_signer_leaves_nothing_in_any_table_page_or_file(
    app, petition, logged_in, mails, make_signature
):
    make_signature(petition, confirmed=True, email="other@example.org", full_name="Someone Else")
    signing.sign(petition, **signature_fields(**VICTIM))
    db.session.commit()
    mail.send_pending()
    signature = db.session.scalars(select(Signature).filter_by(email=VICTIM["email"])).one()
    url = f"/organizer/p/{petition.slug}/signatures"
    # An organizer searches by the address and name, and invalidates with a reason naming them.
    search = {"email": VICTIM["email"], "name": "Quenneville"}
    assert logged_in.get(url, query_string=search).status_code == 200
    reason = "fake, reported by Victoria Quenneville <victoria.q@example.org>"
    bulk = {**search, "expected": "1", "reason": reason}
    assert logged_in.post(f"{url}/invalidate", data=bulk).status_code == 302
    assert logged_in.post(f"/organizer/signatures/{signature.id}/restore").status_code == 302
    logged_in.post(f"/organizer/signatures/{signature.id}/invalidate", data={"reason": reason})
    logged_in.post(f"/organizer/signatures/{signature.id}/hide", data={})

    (token,) = mails.links(mails.to(VICTIM["email"])[0], "withdraw")
    assert logged_in.application.test_client().post(f"/withdraw/{token}").status_code == 302

    assert traces_of(VICTIM, database_dump()) == []
    audit_page = logged_in.get("/organizer/audit").text
    assert "invalidate_bulk" in audit_page or "Invalidate" in audit_page
    assert traces_of(VICTIM, audit_page) == []
    # What the audit does keep says what was done, to how many, without anyone's name.
    assert "[name]" in database_dump() and "[address]" in database_dump()
    assert "Someone Else" in database_dump()  # the other signer is untouched

    if db.engine.dialect.name == "sqlite":
        retention.wipe_deleted_data()
        db.session.commit()
        files = Path(db.engine.url.database)
        raw = b"".join(p.read_bytes() for p in files.parent.glob(files.name + "*"))
        assert VICTIM["email"].encode() not in raw
        assert VICTIM["full_name"].encode() not in raw


def test_a_purged_call_leaves_no_signer_in_any_table(app, petition, make_signature, runner):
    make_signature(petition, confirmed=True, **VICTIM)
    petition.status = PetitionStatus.CLOSED
    petition.closed_at = utcnow()
    db.session.commit()
    result = runner.invoke(args=["purge", "--call", petition.slug, "--yes"])
    assert result.exit_code == 0, result.output
    assert traces_of(VICTIM, database_dump()) == []


def test_a_searched_domain_is_kept_in_the_audit_only_when_it_names_no_one(app, petition):
    from petition import moderation

    few = moderation.SignatureCriteria(domain="jean-dupont.fr")
    assert few.for_audit(matched=1) == {"domain": "[given]"}
    many = moderation.SignatureCriteria(domain="spam.example", email="x", name="y")
    assert many.for_audit(matched=5) == {
        "domain": "spam.example",
        "email": "[given]",
        "name": "[given]",
    }


# --- images from other sites are not passed on ---

FOREIGN = (
    "Read this ![tracker](https://tracker.example/p.gif?who=1) and ![ours](/static/img/share.png)"
)


def test_an_image_from_another_site_is_shown_as_a_link(app):
    from petition.petitions import render_markdown

    html = render_markdown(FOREIGN)
    assert '<img src="https://tracker.example' not in html
    assert '<a href="https://tracker.example/p.gif?who=1">tracker</a>' in html
    assert '<img src="/static/img/share.png" alt="ours">' in html


def test_the_api_hands_on_no_image_from_another_site(app, client, make_petition):
    from petition.petitions import foreign_images

    referenced = "![a][t]\n\n[t]: //tracker.example/r.gif"
    make_petition(slug="images", body=f"{FOREIGN}\n\n{referenced}")
    body = client.get("/api/v1/calls/images").json["body"]
    assert foreign_images(body) == []
    assert "https://tracker.example/p.gif?who=1" in body  # still there, as a link
    assert "![ours](/static/img/share.png)" in body


def test_the_editor_refuses_an_image_from_another_site(logged_in, petition):
    response = logged_in.post(
        f"/organizer/p/{petition.slug}/edit",
        data={"title": petition.title, "slug": petition.slug, "timezone": "UTC", "body": FOREIGN},
    )
    assert response.status_code == 422
    assert "Images from other sites are not shown" in response.text


# --- the client-address hash: useful for a week, then gone ---


def sign_from(client, petition, address: str, email: str, name: str = "Amina Diallo"):
    data = {"full_name": name, "email": email, "city": "Calais", "country": "FR", "consent": "y"}
    response = client.post(
        f"/p/{petition.slug}/sign", data=data, environ_base={"REMOTE_ADDR": address}
    )
    assert response.status_code == 302
    return db.session.scalars(select(Signature).filter_by(email=email)).one()


def test_organizers_find_signatures_from_the_same_origin(client, logged_in, petition):
    from petition import origins

    origins.forget_cached_key()
    first = sign_from(client, petition, "203.0.113.7", "a@example.org", "Bot One")
    sign_from(client, petition, "203.0.113.7", "b@example.org", "Bot Two")
    sign_from(client, petition, "198.51.100.1", "c@example.org", "Amina Diallo")
    assert first.ip_hash and "203.0.113.7" not in first.ip_hash

    page = logged_in.get(f"/organizer/signatures/{first.id}").text
    assert "1 other signature came from its network address that day" in page
    found = logged_in.get(f"/organizer/p/{petition.slug}/signatures?origin={first.id}").text
    assert "Bot One" in found and "Bot Two" in found and "Amina Diallo" not in found
    # A flood from one address is invalidated in one go.
    response = logged_in.post(
        f"/organizer/p/{petition.slug}/signatures/invalidate",
        data={"origin": first.id, "expected": "2", "reason": "one address, many names"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    statuses = {s.full_name: s.status.value for s in db.session.scalars(select(Signature))}
    assert statuses == {"Bot One": "invalid", "Bot Two": "invalid", "Amina Diallo": "pending"}


def test_the_key_of_a_day_is_gone_the_next_day_and_hashes_after_a_week(app, petition, runner):
    from petition import origins
    from petition.models import ServiceSetting

    origins.forget_cached_key()
    today = utcnow()
    first = origins.origin_hash("203.0.113.7", today)
    db.session.commit()
    tomorrow = today + timedelta(days=1)
    assert origins.origin_hash("203.0.113.7", tomorrow) != first
    db.session.commit()
    keys = db.session.scalars(
        select(ServiceSetting.key).where(ServiceSetting.key.startswith("origin_key:"))
    ).all()
    assert keys == [f"origin_key:{tomorrow.date().isoformat()}"]  # yesterday's key is gone
    origins.forget_cached_key()

    signature = signing.sign(petition, **signature_fields(), ip="203.0.113.7")
    signature.signed_at = utcnow() - timedelta(days=app.config["ORIGIN_DAYS"], hours=1)
    recent = signing.sign(petition, **signature_fields(email="b@example.org"), ip="203.0.113.7")
    db.session.commit()
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "1 erased" in result.output
    db.session.expire_all()
    assert signature.ip_hash is None and recent.ip_hash is not None
