"""The audit log: organizer actions appended as they happen, never changed afterwards."""

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import Select, event, select

from .extensions import db
from .models import AuditEntry, Organizer, Petition
from .rules import anonymized_note

# What the log says about who acted when no organizer is logged in (the CLI).
COMMAND_LINE = "command line"


def record(
    action: str,
    *,
    petition: Petition | None = None,
    subject: str | None = None,
    organizer: Organizer | None = None,
    **details: object,
) -> AuditEntry:
    """Append one entry, in the caller's transaction: the action and its record commit together.

    `subject` names records by kind and id ("signature 12"); details hold counts and
    filters, never a signer's name or address: the entry outlives the signer. Any email
    address in a text of the details (a reason, a file name) is taken out on the way in.
    """
    if organizer is None and has_request_context() and current_user.is_authenticated:
        organizer = current_user
    entry = AuditEntry(
        organizer_id=organizer.id if organizer else None,
        actor=organizer.email if organizer else COMMAND_LINE,
        action=action,
        petition_id=petition.id if petition else None,
        subject=subject,
        details={key: _anonymized(value) for key, value in details.items() if value is not None},
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _anonymized(value: object) -> object:
    if isinstance(value, str):
        return anonymized_note(value)
    if isinstance(value, dict):
        return {key: _anonymized(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_anonymized(item) for item in value]
    return value


def entries(petition: Petition | None = None) -> Select:
    """The log, newest first; one call's entries if a call is given."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if petition is not None:
        query = query.where(AuditEntry.petition_id == petition.id)
    return query


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    raise ValueError("audit entries are never changed")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    raise ValueError("audit entries are never deleted")
