"""Organizers' login and logout."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError

from ..auth import authenticate, end_sessions, safe_next_url
from ..extensions import db
from ..forms import ButtonForm, LoginForm

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
    if not ButtonForm().validate_on_submit():
        raise CSRFError()
    if current_user.is_authenticated:
        end_sessions(current_user)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
