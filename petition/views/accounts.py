"""Organizer accounts (owners only), one's own password, and the audit log."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from .. import audit, queries
from ..auth import (
    AccountError,
    authenticate,
    change_password,
    invite_organizer,
    resend_invitation,
    update_organizer,
)
from ..errors import InvalidTransition
from ..extensions import db
from ..forms.accounts import AccountForm, ChangePasswordForm, InvitationForm
from ..forms.fields import ButtonForm
from ..models import AuditEntry, Organizer, OrganizerRole, Petition, petition_organizer
from . import organizer_blueprint, owner_required, page_number, require_button

bp = organizer_blueprint("accounts", __name__)


def _call_choices() -> list[SelectChoice]:
    petitions = db.session.execute(queries.all_petitions()).scalars()
    return [SelectChoice(petition.id, petition.title) for petition in petitions]


def _chosen_calls(ids: list[int]) -> list[Petition]:
    if not ids:
        return []
    return list(db.session.execute(select(Petition).where(Petition.id.in_(ids))).scalars())


@bp.get("/accounts")
@owner_required
def index():
    """Every organizer account, and the form to invite one."""
    form = InvitationForm()
    form.calls.choices = _call_choices()
    return _accounts_page(form)


def _accounts_page(form: InvitationForm, status: int = 200):
    organizers = db.session.execute(select(Organizer).order_by(Organizer.email)).scalars()
    return render_template(
        "organizer/accounts/index.html", organizers=organizers, form=form, button=ButtonForm()
    ), status


@bp.post("/accounts")
@owner_required
def invite():
    """Create an account for an organizer and mail them a link to choose a password."""
    form = InvitationForm()
    form.calls.choices = _call_choices()
    if not form.validate_on_submit():
        return _accounts_page(form, 422)
    try:
        organizer = invite_organizer(
            form.email.data,
            OrganizerRole(form.role.data),
            _chosen_calls(form.calls.data),
            invited_by=current_user,
        )
    except AccountError as error:
        form.email.errors.append(str(error))
        return _accounts_page(form, 422)
    db.session.commit()
    flash(_("Invitation sent to %(email)s.", email=organizer.email), "success")
    return redirect(url_for("accounts.index"))


@bp.route("/accounts/<int:organizer_id>", methods=["GET", "POST"])
@owner_required
def edit(organizer_id: int):
    """Change an organizer's role, whether they can log in, and their calls."""
    organizer = db.get_or_404(Organizer, organizer_id)
    form = AccountForm(data=_account_data(organizer) if request.method == "GET" else None)
    form.calls.choices = _call_choices()
    if form.validate_on_submit():
        try:
            update_organizer(
                organizer,
                role=OrganizerRole(form.role.data),
                active=form.active.data,
                petitions=_chosen_calls(form.calls.data),
                by=current_user,
            )
        except AccountError as error:
            form.role.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Account of %(email)s saved.", email=organizer.email), "success")
            return redirect(url_for("accounts.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("organizer/accounts/edit.html", organizer=organizer, form=form), status


def _account_data(organizer: Organizer) -> dict:
    """An account as its form shows it."""
    return {
        "role": organizer.role.value,
        "active": organizer.active,
        "calls": [petition.id for petition in organizer.petitions],
    }


@bp.post("/accounts/<int:organizer_id>/invitation")
@owner_required
def resend(organizer_id: int):
    """Mail the invitation link again to an organizer who has not chosen a password."""
    organizer = db.get_or_404(Organizer, organizer_id)
    require_button()
    try:
        resend_invitation(organizer)
    except InvalidTransition:
        abort(409)
    db.session.commit()
    flash(_("Invitation sent again to %(email)s.", email=organizer.email), "success")
    return redirect(url_for("accounts.index"))


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Change one's own password; every other session of the account ends."""
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        if authenticate(current_user.email, form.current_password.data) is None:
            form.current_password.errors.append(_("This is not your current password."))
            status = 422
        else:
            change_password(current_user, form.new_password.data)
            db.session.commit()
            login_user(current_user._get_current_object())  # this session goes on, new key
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("organizer.index"))
    elif form.is_submitted():
        status = 422
    return render_template("organizer/accounts/password.html", form=form), status


@bp.get("/audit")
def audit_log():
    """What organizers did, newest first: everything for owners, one's calls for organizers."""
    petitions = db.session.execute(queries.petitions_for(current_user)).scalars().all()
    chosen = None
    slug = request.args.get("call")
    if slug:
        chosen = next((petition for petition in petitions if petition.slug == slug), None)
        if chosen is None:
            abort(404)
    query = audit.entries(chosen)
    if chosen is None and not current_user.is_owner:
        query = query.where(
            AuditEntry.petition_id.in_(
                select(petition_organizer.c.petition_id).where(
                    petition_organizer.c.organizer_id == current_user.id
                )
            )
        )
    page = db.paginate(query, page=page_number(), per_page=100, error_out=False)
    return render_template(
        "organizer/accounts/audit.html", page=page, petitions=petitions, chosen=chosen
    )
