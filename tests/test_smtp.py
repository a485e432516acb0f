"""Mail through a real SMTP server (aiosmtpd): the signing flow, and the queue after an outage."""

import json
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from petition.extensions import db
from petition.models import OutgoingMail, Signature, SignatureStatus

from .helpers import SMTPServer, free_port

SIGNER = "amina@example.org"
LINK = re.compile(r"https?://\S+/(confirm|withdraw)/(\S+)")


@pytest.fixture
def smtp():
    """An SMTP server bound to a free port, not started yet."""
    server = SMTPServer(free_port())
    yield server
    server.stop()


@pytest.fixture
def config(config, smtp):
    """The test settings, with mail going to the local SMTP server."""
    config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=5)
    return config


def sign(client, petition):
    """Sign the call through the HTTP form, as a person would."""
    return client.post(
        f"/p/{petition.slug}/sign",
        data={
            "full_name": "Amina Diallo",
            "email": SIGNER,
            "city": "Calais",
            "country": "FR",
            "show_publicly": "y",
            "consent": "y",
        },
    )


def stored_signature(petition) -> Signature:
    db.session.expire_all()
    return db.session.execute(select(Signature).filter_by(petition_id=petition.id)).scalar_one()


def outgoing_mails() -> list[OutgoingMail]:
    db.session.expire_all()
    return db.session.execute(select(OutgoingMail).order_by(OutgoingMail.id)).scalars().all()


def test_signer_confirms_with_the_link_from_a_real_smtp_mail(client, petition, smtp):
    """The confirmation mail goes through SMTP and its link confirms the signature."""
    smtp.start()

    response = sign(client, petition)
    assert response.status_code == 302
    assert urlsplit(response.location).path == f"/p/{petition.slug}/check-your-email"

    assert len(smtp.inbox.envelopes) == 1
    envelope = smtp.inbox.envelopes[0]
    assert envelope.rcpt_tos == [SIGNER]
    (message,) = smtp.inbox.messages()
    assert message["To"] == SIGNER
    assert message["Subject"] == f"Please confirm your signature: {petition.title}"
    assert message["From"] == "petitions@localhost"
    body = message.get_content()
    assert "Hello Amina Diallo," in body
    links = {kind: url for url, kind, _token in _links(body)}
    assert set(links) == {"confirm", "withdraw"}

    confirm_path = urlsplit(links["confirm"]).path
    page = client.get(confirm_path)
    assert page.status_code == 200
    assert "Confirm my signature" in page.text
    assert stored_signature(petition).status is SignatureStatus.PENDING

    response = client.post(confirm_path)
    assert response.status_code == 302
    signature = stored_signature(petition)
    assert signature.status is SignatureStatus.CONFIRMED
    assert signature.confirmed_at is not None
    counts = json.loads(client.get(f"/p/{petition.slug}.json").text)
    assert counts["individuals"] == 1
    assert len(smtp.inbox.envelopes) == 1  # confirming sends nothing more


def test_mail_is_queued_during_an_outage_and_sent_later_by_the_cli(client, runner, petition, smtp):
    """Without an SMTP server the signature is kept, and `flask mail send` delivers later."""
    response = sign(client, petition)
    assert response.status_code == 302
    assert urlsplit(response.location).path == f"/p/{petition.slug}/check-your-email"
    assert stored_signature(petition).status is SignatureStatus.PENDING

    (queued,) = outgoing_mails()
    assert queued.recipient == SIGNER
    assert queued.sent_at is None
    assert queued.attempts == 1
    assert queued.last_error
    assert "/confirm/" in queued.body

    smtp.start()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed" in result.output

    assert len(smtp.inbox.envelopes) == 1
    (message,) = smtp.inbox.messages()
    assert message["To"] == SIGNER
    assert message["Subject"] == f"Please confirm your signature: {petition.title}"
    assert [kind for _url, kind, _token in _links(message.get_content())] == [
        "confirm",
        "withdraw",
    ]
    (sent,) = outgoing_mails()
    assert sent.sent_at is not None
    assert sent.attempts == 2
    assert sent.body == ""

    again = runner.invoke(args=["mail", "send"])
    assert again.exit_code == 0, again.output
    assert "0 sent, 0 failed" in again.output
    assert len(smtp.inbox.envelopes) == 1


def _links(body: str) -> list[tuple[str, str, str]]:
    """(url, kind, token) of each confirm/withdraw link in a mail body."""
    return [(match.group(0), *match.groups()) for match in LINK.finditer(body)]


def test_the_sender_delivers_every_mail_once_across_an_smtp_outage(app, client, petition, smtp):
    """The production sender (send_forever) keeps trying; each mail arrives exactly once."""
    import threading
    import time

    from petition import mail

    app.config.update(MAIL_SEND_INLINE=False, MAIL_RETRY_SECONDS=0.2)
    stop = threading.Event()

    def sender():
        with app.app_context():
            mail.send_forever(poll_seconds=0.05, stop=stop.is_set)

    worker = threading.Thread(target=sender)
    worker.start()
    try:
        addresses = [f"signer{n}@example.org" for n in range(6)]
        for address in addresses[:3]:  # the SMTP server is down
            response = client.post(
                f"/p/{petition.slug}/sign",
                data={
                    "full_name": "A Signer",
                    "email": address,
                    "city": "Calais",
                    "country": "FR",
                    "consent": "y",
                },
            )
            assert response.status_code == 302
        time.sleep(0.5)
        assert smtp.inbox.envelopes == []
        assert all(m.attempts >= 1 and m.sent_at is None for m in outgoing_mails())

        smtp.start()
        for address in addresses[3:]:  # and back
            client.post(
                f"/p/{petition.slug}/sign",
                data={
                    "full_name": "A Signer",
                    "email": address,
                    "city": "Calais",
                    "country": "FR",
                    "consent": "y",
                },
            )
        deadline = time.monotonic() + 20
        while len(smtp.inbox.envelopes) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # a duplicate would arrive now
    finally:
        stop.set()
        worker.join(10)
    received = sorted(to for envelope in smtp.inbox.envelopes for to in envelope.rcpt_tos)
    assert received == sorted(addresses)
    assert all(m.sent_at is not None for m in outgoing_mails())


def test_concurrent_senders_never_send_a_mail_twice(app, petition, smtp):
    """Three senders drain one queue: every mail goes out exactly once (claims are leases)."""
    import threading

    from petition import mail, signing

    from .conftest import signature_fields

    app.config["MAIL_SEND_INLINE"] = False
    for n in range(30):
        signing.sign(petition, **signature_fields(email=f"s{n}@example.org"))
    db.session.commit()
    smtp.start()
    barrier = threading.Barrier(3)

    def sender():
        with app.app_context():
            barrier.wait(10)
            mail.send_pending(limit=4)

    workers = [threading.Thread(target=sender) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    received = sorted(to for envelope in smtp.inbox.envelopes for to in envelope.rcpt_tos)
    assert received == sorted(f"s{n}@example.org" for n in range(30))
