"""Composing, queueing and sending mail: an outbox that never loses a mail.

A mail is queued (a row in outgoing_mail) in the same transaction as the signature
that causes it. A sender claims due rows, sends them over SMTP and marks them sent; a
failure is retried later with a growing delay. In the simple local run the request
that queued a mail sends it after its response; in production `flask --app petition
mail send --forever` does (MAIL_SEND_INLINE=false). Without MAIL_SERVER, each mail is
written to a file in the instance folder (`instance/mail/`), so a person running the
service locally can follow its links; the log says where, never what (its links are keys).

A permanent refusal (an SMTP 5xx for the recipient or the message) is not retried: the mail
is marked failed and organizers see the address as undeliverable. Temporary failures (4xx,
a server down) are retried with a growing delay for MAIL_GIVE_UP_HOURS, then marked failed.

Claims are leases: a sender that dies mid-batch leaves its rows to be claimed again
once the lease ends, so a mail may (rarely) go out twice but is never lost.
"""

import logging
import os
import smtplib
import threading
import time
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import after_this_request, current_app, g, has_request_context, render_template
from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import OperationalError

from .extensions import db
from .logs import redact
from .models import Endorsement, OutgoingMail, Signature, utcnow

log = logging.getLogger("petition.mail")

BATCH_SIZE = 20
MAX_RETRY_DELAY = timedelta(hours=1)
# Built once: SQLAlchemy's compiled cache finds it without walking a new statement.
_QUEUE = insert(OutgoingMail.__table__).returning(OutgoingMail.__table__.c.id)


def queue(
    *,
    recipient: str,
    template: str,
    context: dict,
    signature: Signature | None = None,
    endorsement: Endorsement | None = None,
) -> int:
    """Render templates/email/<template>.txt and queue it; its first line is the subject.

    Returns the queued mail's id.
    """
    subject, _, body = render_template(f"email/{template}.txt", **context).partition("\n")
    # Pending changes first, so that the row's foreign keys find their rows.
    db.session.flush()
    # One plain INSERT in the caller's transaction, no ORM object: flushing one through the
    # unit of work took a tenth of a signature's time (the profile of signing).
    mail_id = db.session.execute(
        _QUEUE,
        {
            "recipient": recipient,
            "subject": subject.strip(),
            "body": body.strip() + "\n",
            "signature_id": signature.id if signature is not None else None,
            "endorsement_id": endorsement.id if endorsement is not None else None,
        },
    ).scalar_one()
    if has_request_context() and current_app.config["MAIL_SEND_INLINE"]:
        _send_after_response(mail_id)
    return mail_id


_senders: set[threading.Thread] = set()


def _send_after_response(mail_id: int) -> None:
    """Send the request's mails beside its response, so the signer never waits for SMTP.

    A thread, not response.call_on_close: servers do not all close a response they
    answered (werkzeug's skips it when the browser reuses the connection at once).
    Only mails the request committed are found; a rolled-back request sends nothing.
    """
    if "mail_ids_to_send" not in g:
        g.mail_ids_to_send = ids = []
        app = current_app._get_current_object()

        def send():
            with app.app_context():
                try:
                    send_pending(ids)
                except Exception:  # the mails stay queued for `mail send`
                    log.exception("sending mails %s after the response failed", ids)
            _senders.discard(threading.current_thread())

        @after_this_request
        def start_sender(response):
            sender = threading.Thread(target=send, name="mail-after-response")
            _senders.add(sender)
            sender.start()
            return response

    g.mail_ids_to_send.append(mail_id)


def wait_for_senders(timeout: float = 30) -> None:
    """Wait for the mails being sent beside responses (tests, and a clean shutdown)."""
    for sender in list(_senders):
        sender.join(timeout)


def retry_delay(attempts: int) -> timedelta:
    """MAIL_RETRY_SECONDS (30 s) after the first failure, doubling, at most an hour."""
    first = current_app.config["MAIL_RETRY_SECONDS"]
    return min(timedelta(seconds=first * 2 ** max(attempts - 1, 0)), MAX_RETRY_DELAY)


def _claim(ids: list[int] | None, limit: int, due_only: bool, after_id: int) -> list[int]:
    """Lease unsent mails past `after_id` to this sender; other senders skip them (SKIP LOCKED).

    One pass of a sender goes through the queue in id order, each mail at most once: a mail
    that just failed is not leased again (and left leased) by the same pass.
    """
    now = utcnow()
    due = (
        select(OutgoingMail.id)
        .where(
            OutgoingMail.id > after_id,
            OutgoingMail.sent_at.is_(None),
            OutgoingMail.failed_at.is_(None),
            or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now),
        )
        .order_by(OutgoingMail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        due = due.where(OutgoingMail.id.in_(ids))
    if due_only:
        due = due.where(OutgoingMail.next_attempt_at <= now)
    lease = timedelta(seconds=limit * current_app.config["MAIL_TIMEOUT"] + 60)
    claimed = db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id.in_(due.scalar_subquery()))
        .values(claimed_until=now + lease)
        .returning(OutgoingMail.id)
        .execution_options(synchronize_session=False)
    )
    claimed_ids = sorted(claimed.scalars())
    db.session.commit()
    return claimed_ids


def send_pending(
    ids: list[int] | None = None, limit: int = BATCH_SIZE, due_only: bool = True
) -> tuple[int, int]:
    """Send unsent mails, a batch at a time; return (sent, failed).

    `ids` limits it to some mails; `due_only=False` also sends mails waiting out the
    delay after a failure (an operator's `mail send` once the SMTP server is back).
    """
    sent = failed = 0
    last_id = 0
    while claimed := _claim(ids, limit, due_only, after_id=last_id):
        last_id = claimed[-1]
        for mail_id in claimed:
            outgoing = db.session.get(OutgoingMail, mail_id)
            if outgoing is None:  # its signature was withdrawn meanwhile
                continue
            outgoing.attempts += 1
            try:
                _deliver(_message(outgoing), outgoing.id)
            except (smtplib.SMTPException, OSError) as error:
                _record_failure(outgoing, error)
                failed += 1
            else:
                outgoing.sent_at = utcnow()
                outgoing.body = ""  # the links in it are keys to a signature: keep them nowhere
                sent += 1
            outgoing.claimed_until = None
            db.session.commit()
        if ids is not None:
            break
    return sent, failed


def _record_failure(outgoing: OutgoingMail, error: Exception) -> None:
    """Retry later, or give up for good: a permanent refusal, or too old to be of use."""
    now = utcnow()
    outgoing.last_error = describe_failure(error)[:500]
    too_old = now - outgoing.created_at > timedelta(hours=current_app.config["MAIL_GIVE_UP_HOURS"])
    if is_permanent(error) or too_old:
        outgoing.failed_at = now
        outgoing.body = ""
        log.warning("mail %s failed for good: %s", outgoing.id, outgoing.last_error)
        return
    outgoing.next_attempt_at = now + retry_delay(outgoing.attempts)
    log.warning("mail %s to be retried: %s", outgoing.id, outgoing.last_error)


def is_permanent(error: Exception) -> bool:
    """Whether the SMTP server refused this recipient or message for good (a 5xx reply).

    A refused sender or login is our own configuration's fault, to be fixed and retried;
    connection errors and 4xx replies are temporary.
    """
    if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError):
        return False
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False


def describe_failure(error: Exception) -> str:
    """What went wrong, without the recipient's address (the log and the table keep it)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = [_reply(code, text) for code, text in error.recipients.values()]
        return f"recipient refused: {'; '.join(replies)}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: {_reply(error.smtp_code, error.smtp_error)}"
    return redact(f"{type(error).__name__}: {error}")


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return redact(f"{code} {' '.join(text.split())}")


def send_forever(poll_seconds: float = 2.0, stop=lambda: False) -> None:
    """The production sender: send what is due, wait a little, again; survive outages."""
    while not stop():
        try:
            sent, _failed = send_pending()
        except OperationalError as error:
            db.session.rollback()
            log.warning("database unavailable, retrying: %s", error.orig)
            sent = 0
        if sent == 0:
            time.sleep(poll_seconds)


def _message(outgoing: OutgoingMail) -> EmailMessage:
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = outgoing.recipient
    message["Subject"] = outgoing.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(outgoing.body)
    return message


def _deliver(message: EmailMessage, mail_id: int) -> None:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        path = _write_locally(message, mail_id)
        log.info(
            "mail %s not sent (no MAIL_SERVER set): written to %s",
            mail_id,
            path,
            extra={"mail": message},
        )
        return
    server, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    with smtplib.SMTP(server, port, timeout=timeout) as smtp:
        if config["MAIL_USE_STARTTLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)


def local_mail_folder() -> Path:
    """Where mails go without MAIL_SERVER: the instance folder's mail/, for the person
    running the service (it holds addresses and links, like the database beside it)."""
    return Path(current_app.instance_path) / "mail"


def _write_locally(message: EmailMessage, mail_id: int) -> Path:
    folder = local_mail_folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{mail_id:06d}.eml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(message.as_bytes())
    return path
