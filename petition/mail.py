"""Composing, queueing and sending mail.

A mail is queued (a row in outgoing_mail) in the same transaction as the signature
that causes it, then sent after the commit. If the SMTP server is down the row stays,
and `flask --app petition mail send` delivers it later. Without MAIL_SERVER, mails
are written to the log so a person running the service locally can follow the links.
"""

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, g, render_template
from sqlalchemy import select

from .extensions import db
from .models import Endorsement, OutgoingMail, Signature, utcnow

log = logging.getLogger("petition.mail")


def queue(
    *,
    recipient: str,
    template: str,
    context: dict,
    signature: Signature | None = None,
    endorsement: Endorsement | None = None,
) -> OutgoingMail:
    """Render templates/email/<template>.txt and queue it; its first line is the subject."""
    subject, _, body = render_template(f"email/{template}.txt", **context).partition("\n")
    outgoing = OutgoingMail(
        recipient=recipient,
        subject=subject.strip(),
        body=body.strip() + "\n",
        signature=signature,
        endorsement=endorsement,
    )
    db.session.add(outgoing)
    db.session.flush()
    g.setdefault("queued_mail_ids", []).append(outgoing.id)
    return outgoing


def send_queued_in_request() -> None:
    """Send the mails this request queued, after its commit. Failures stay queued."""
    ids = g.pop("queued_mail_ids", [])
    if ids:
        send_pending(ids)


def send_pending(ids: list[int] | None = None) -> tuple[int, int]:
    """Send unsent mails (all, or the given ids); return (sent, failed)."""
    query = select(OutgoingMail).where(OutgoingMail.sent_at.is_(None)).order_by(OutgoingMail.id)
    if ids is not None:
        query = query.where(OutgoingMail.id.in_(ids))
    sent = failed = 0
    for outgoing in db.session.execute(query).scalars().all():
        try:
            _deliver(_message(outgoing))
        except (smtplib.SMTPException, OSError) as error:
            outgoing.attempts += 1
            outgoing.last_error = f"{type(error).__name__}: {error}"[:500]
            failed += 1
            log.warning("mail %s to be retried: %s", outgoing.id, outgoing.last_error)
        else:
            outgoing.attempts += 1
            outgoing.sent_at = utcnow()
            outgoing.body = ""  # the links in it are keys to a signature: keep them nowhere
            sent += 1
        db.session.commit()
    return sent, failed


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


def _deliver(message: EmailMessage) -> None:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        log.info(
            "mail not sent (no MAIL_SERVER set)\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            message.get_content(),
            extra={"mail": message},
        )
        return
    with smtplib.SMTP(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
    ) as smtp:
        if config["MAIL_USE_STARTTLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
