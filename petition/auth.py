"""Organizers' accounts: creating and inviting them, their rights and passwords, login checks,
the user loader, safe redirects. Each change to an account records its audit entry."""

import hmac
import secrets
from functools import cache
from urllib.parse import urlsplit

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, mail
from .errors import InvalidToken, InvalidTransition
from .extensions import db, login_manager
from .models import Organizer, OrganizerRole, Petition
from .tokens import INVITE, make_token, read_token

MIN_PASSWORD_LENGTH = 12


@cache
def _dummy_hash() -> str:
    """Checked against when the account is unknown, so both answers take as long.

    Made at the first login, not at import: every command and worker start would pay
    for an scrypt hash it never uses.
    """
    return generate_password_hash("not a real password")


class AccountError(ValueError):
    """An organizer account cannot be created as asked."""


@login_manager.user_loader
def load_organizer(organizer_id: str) -> Organizer | None:
    """Flask-Login's loader: the organizer this session was opened for, if still valid.

    The session holds the account's session key, which logout and a new password change:
    a copied or stolen session cookie dies with them.
    """
    number, _, key = organizer_id.partition(":")
    if not number.isdigit() or not key:
        return None
    organizer = db.session.get(Organizer, int(number))
    if organizer is None or not hmac.compare_digest(organizer.session_key, key):
        return None
    return organizer


def end_sessions(organizer: Organizer) -> None:
    """Make every login session of this account invalid (logout, new password)."""
    organizer.session_key = secrets.token_hex(16)
    db.session.flush()


def create_organizer(
    email: str, password: str, role: OrganizerRole = OrganizerRole.ORGANIZER
) -> Organizer:
    """Add an organizer with a scrypt-hashed password (the command line's first accounts)."""
    organizer = _new_organizer(email, password, role)
    audit.record("create_account", subject=f"organizer {organizer.id}", role=role.value)
    return organizer


def _new_organizer(
    email: str,
    password: str | None,
    role: OrganizerRole,
    invited_by: Organizer | None = None,
) -> Organizer:
    email = email.strip().lower()
    if "@" not in email:
        raise AccountError("an organizer is identified by an email address")
    if password is not None:
        check_password_strength(password)
    if db.session.execute(select(Organizer.id).filter_by(email=email)).first():
        raise AccountError(f"an organizer with the address {email} exists already")
    organizer = Organizer(
        email=email,
        password_hash=generate_password_hash(password) if password is not None else None,
        role=role,
        invited_by_id=invited_by.id if invited_by else None,
    )
    db.session.add(organizer)
    db.session.flush()
    return organizer


def check_password_strength(password: str) -> None:
    """Raise AccountError for a password too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def set_password(organizer: Organizer, password: str) -> None:
    """Give the account a new password and end its other sessions."""
    check_password_strength(password)
    organizer.password_hash = generate_password_hash(password)
    end_sessions(organizer)


def change_password(organizer: Organizer, password: str) -> None:
    """An organizer's own new password (their other sessions end)."""
    set_password(organizer, password)
    audit.record("change_password", subject=f"organizer {organizer.id}", organizer=organizer)


def accept_invitation(organizer: Organizer, password: str) -> None:
    """An invited organizer's first password: the invitation link stops working."""
    set_password(organizer, password)
    audit.record("accept_invitation", subject=f"organizer {organizer.id}", organizer=organizer)


def authenticate(email: str, password: str) -> Organizer | None:
    """The organizer with these credentials, or None; same work whether the account exists."""
    organizer = db.session.execute(
        select(Organizer).where(func.lower(Organizer.email) == email.strip().lower())
    ).scalar_one_or_none()
    if organizer is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if organizer.password_hash is None:  # invited, no password chosen yet
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(organizer.password_hash, password) or not organizer.active:
        return None
    return organizer


def safe_next_url(target: str | None) -> str | None:
    """The `next` target if it stays on this site, else None."""
    if not target or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        host = urlsplit(request.host_url)
        if (parts.scheme, parts.netloc) != (host.scheme, host.netloc):
            return None
    return target if target.startswith("/") or parts.netloc else None


def invite_organizer(
    email: str, role: OrganizerRole, petitions: list[Petition], invited_by: Organizer
) -> Organizer:
    """Create an account without a password and mail its owner a link to choose one."""
    organizer = _new_organizer(email, None, role, invited_by=invited_by)
    organizer.petitions.extend(petitions)
    send_invitation(organizer)
    audit.record(
        "invite_organizer",
        subject=f"organizer {organizer.id}",
        organizer=invited_by,
        role=role.value,
        calls=sorted(petition.id for petition in petitions),
    )
    return organizer


def resend_invitation(organizer: Organizer) -> None:
    """Mail the invitation again to an organizer who has not chosen a password yet."""
    if organizer.password_hash is not None:
        raise InvalidTransition("the invitation was taken up already")
    send_invitation(organizer)
    audit.record("resend_invitation", subject=f"organizer {organizer.id}")


def grant(organizer: Organizer, petition: Petition) -> None:
    """Let an organizer work on a call."""
    if petition not in organizer.petitions:
        organizer.petitions.append(petition)
    db.session.flush()
    audit.record("grant", petition=petition, subject=f"organizer {organizer.id}")


def send_invitation(organizer: Organizer) -> None:
    """Mail (again) the link with which an invited organizer chooses a password."""
    mail.queue(
        recipient=organizer.email,
        template="organizer_invitation",
        context={
            "organizer": organizer,
            "token": make_token(INVITE, "organizer", organizer.id, organizer.session_key),
            "days": current_app.config["INVITATION_MAX_AGE"] // 86400,
        },
    )


def organizer_for_invitation(token: str) -> Organizer:
    """The invited organizer a link is for; InvalidToken once used (the key changes) or wrong."""
    claim = read_token(INVITE, token, max_age=current_app.config["INVITATION_MAX_AGE"])
    organizer = db.session.get(Organizer, claim.record_id) if claim.kind == "organizer" else None
    if organizer is None or not hmac.compare_digest(organizer.session_key, claim.key):
        raise InvalidToken
    return organizer


def update_organizer(
    organizer: Organizer,
    *,
    role: OrganizerRole,
    active: bool,
    petitions: list[Petition],
    by: Organizer,
) -> list[str]:
    """Change an account's role, access and calls; the names of what changed.

    The service always keeps an active owner, and an owner cannot lock themselves out.
    """
    losing_owner = organizer.is_owner and (role is not OrganizerRole.OWNER or not active)
    if losing_owner and organizer.id == by.id:
        raise AccountError(_("You cannot take away your own owner access."))
    if losing_owner and _active_owners() <= 1:
        raise AccountError(_("The service needs at least one active owner."))
    changed = []
    if organizer.role is not role:
        organizer.role = role
        changed.append("role")
    if organizer.active != active:
        organizer.active = active
        changed.append("active")
        end_sessions(organizer)
    if {p.id for p in organizer.petitions} != {p.id for p in petitions}:
        organizer.petitions = list(petitions)
        changed.append("calls")
    db.session.flush()
    if changed:
        audit.record(
            "edit_organizer",
            subject=f"organizer {organizer.id}",
            organizer=by,
            changed=changed,
            role=organizer.role.value,
            active=organizer.active,
            calls=sorted(petition.id for petition in organizer.petitions),
        )
    return changed


def _active_owners() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Organizer)
        .where(Organizer.role == OrganizerRole.OWNER, Organizer.active.is_(True))
    )
