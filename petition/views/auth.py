"""Organizers' login and logout."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import auth as accounts
from ..auth import (
    authenticate,
    end_sessions,
    organizer_for_invitation,
    safe_next_url,
)
from ..errors import ExpiredToken, InvalidToken
from ..extensions import db
from ..forms.accounts import ChoosePasswordForm, LoginForm
from . import require_button

bp = Blueprint("auth", __name__, url_prefix="/organizer")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log an organizer in; the same answer for an unknown account and a wrong password."""
    if current_user.is_authenticated:
        return redirect(url_for("organizer.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        organizer = authenticate(form.email.data, form.password.data)
        if organizer is not None:
            next_url = safe_next_url(request.args.get("next"))
            session.clear()  # a new session at login: nothing from before carries over
            login_user(organizer)
            return redirect(next_url or url_for("organizer.index"))
        form.password.errors.append(_("Unknown email address or wrong password."))
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    """Log out and forget the session."""
    require_button()
    if current_user.is_authenticated:
        end_sessions(current_user)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """An invited organizer chooses a password; the link then stops working."""
    try:
        organizer = organizer_for_invitation(token)
    except (InvalidToken, ExpiredToken):
        return render_template("auth/bad_invitation.html"), 404
    if organizer.password_hash is not None or not organizer.active:
        return render_template("auth/bad_invitation.html"), 404
    form = ChoosePasswordForm()
    status = 200
    if form.validate_on_submit():
        accounts.accept_invitation(organizer, form.new_password.data)
        db.session.commit()
        session.clear()
        login_user(organizer)
        flash(_("Welcome! Your password is set."), "success")
        return redirect(url_for("organizer.index"))
    if form.is_submitted():
        status = 422
    return render_template("auth/invitation.html", form=form, organizer=organizer), status


@bp.after_request
def _no_store(response):
    # The login form carries a CSRF token and an invitation page a secret link: like the
    # rest of /organizer/, never kept by a browser or a shared cache.
    response.cache_control.no_store = True
    return response
