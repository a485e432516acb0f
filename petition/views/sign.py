"""Signing: the individual and organization forms, and the mailed confirm/withdraw links."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from .. import signing
from ..errors import (
    EndorsementsNotCollected,
    ExpiredToken,
    InvalidToken,
    PetitionClosed,
    SigningPaused,
)
from ..extensions import db
from ..forms.fields import ButtonForm
from ..forms.signing import EndorsementForm, SignatureForm
from ..models import Signature
from ..queries import forget_counts
from ..rules import ENDORSEMENT_FIELDS, SIGNATURE_FIELDS, InvalidSubmission
from ..tokens import CONFIRM, WITHDRAW
from . import public_petition_or_404, request_context

bp = Blueprint("sign", __name__)

@bp.route("/p/<slug:slug>/sign", methods=["GET", "POST"])
def sign(slug: str):
    """An individual signs the call."""
    petition = public_petition_or_404(slug)
    form = SignatureForm(petition=petition, asks_attendance=signing.asks_attendance(petition))
    try:
        signing.ensure_open(petition)
        if form.validate_on_submit():
            if form.looks_automated():
                return _as_if_accepted(petition)
            fields = {name: form[name].data for name in SIGNATURE_FIELDS if name in form}
            signing.sign(petition, **fields, **request_context())
            db.session.commit()
            return redirect(url_for("sign.check_email", slug=slug))
    except InvalidSubmission as refused:
        _show_problems(form, refused)
    except (PetitionClosed, SigningPaused) as refusal:
        return _refused(petition, form, "sign/sign.html", refusal)
    status = 422 if form.is_submitted() else 200
    return render_template("sign/sign.html", petition=petition, form=form), status


@bp.route("/p/<slug:slug>/endorse", methods=["GET", "POST"])
def endorse(slug: str):
    """An organization endorses the call."""
    petition = public_petition_or_404(slug)
    form = EndorsementForm(petition=petition)
    try:
        signing.ensure_open(petition)
        if not petition.collects_endorsements:
            raise EndorsementsNotCollected
        if form.validate_on_submit():
            if form.looks_automated():
                return _as_if_accepted(petition)
            fields = {name: form[name].data for name in ENDORSEMENT_FIELDS}
            signing.endorse(petition, **fields, **request_context())
            db.session.commit()
            return redirect(url_for("sign.check_email", slug=slug))
    except InvalidSubmission as refused:
        _show_problems(form, refused)
    except (PetitionClosed, SigningPaused, EndorsementsNotCollected) as refusal:
        return _refused(petition, form, "sign/endorse.html", refusal)
    status = 422 if form.is_submitted() else 200
    return render_template("sign/endorse.html", petition=petition, form=form), status


def _show_problems(form, refused: InvalidSubmission) -> None:
    """The domain's refusal as field errors (the form checks the same rules first)."""
    db.session.rollback()
    for name, problem in refused.problems.items():
        form[name].errors = [*form[name].errors, problem]


def _as_if_accepted(petition):
    """What a bot sees: the same redirect as a signer, and nothing stored."""
    current_app.logger.info("automated-looking submission ignored (call %s)", petition.slug)
    return redirect(url_for("sign.check_email", slug=petition.slug))


def _refused(petition, form, template: str, refusal: Exception):
    """The form's page without the form, saying why; a submission is refused, not stored."""
    db.session.rollback()
    headers = {}
    if not form.is_submitted():
        status = 200
    elif isinstance(refusal, SigningPaused):
        status, headers = 503, {"Retry-After": "600"}
    else:
        status = 409
    reason = {
        PetitionClosed: "closed",
        SigningPaused: "paused",
        EndorsementsNotCollected: "no_endorsements",
    }[type(refusal)]
    page = render_template(template, petition=petition, form=None, refusal=reason)
    return page, status, headers


@bp.get("/p/<slug:slug>/check-your-email")
def check_email(slug: str):
    """Where a signer lands after a valid submission, whatever happened to it."""
    return render_template("sign/check_email.html", petition=public_petition_or_404(slug))


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """A mailed confirmation link: GET shows the details it confirms and a button; only the
    POST confirms, so mail scanners that fetch links change nothing."""
    link = signing.link_for_token(CONFIRM, token)
    form = ButtonForm()
    if form.validate_on_submit():
        submission = link.submission
        return _confirmed(
            link,
            details=submission.details if submission else None,
            locale=submission.locale if submission else None,
            consent_at=submission.submitted_at if submission else None,
        )
    status = 400 if form.is_submitted() else 200
    return _confirm_page(link, form, _correction_form(link, formdata=None), status)


@bp.post("/confirm/<token>/details")
def confirm_corrected(token: str):
    """The owner of the address confirms with details of their own: someone else may have
    signed with their address, or they made a typo. The link proves the address is theirs."""
    link = signing.link_for_token(CONFIRM, token)
    correction = _correction_form(link)
    if correction.validate_on_submit():
        fields = SIGNATURE_FIELDS if isinstance(link.record, Signature) else ENDORSEMENT_FIELDS
        details = {name: correction[name].data for name in fields if name in correction}
        return _confirmed(
            link, details=details, locale=request_context()["locale"], consent_at=None
        )
    return _confirm_page(link, ButtonForm(formdata=None), correction, 422)


def _confirmed(link: signing.MailedLink, **confirmation):
    """Confirm, then back to the call, thanked; or the page saying why not."""
    record = link.record
    try:
        signing.confirm(record, **confirmation)
    except PetitionClosed:
        db.session.rollback()
        return _confirm_page(link, ButtonForm(formdata=None), None, 409, refusal="closed")
    except InvalidSubmission as refused:
        correction = _correction_form(link)
        _show_problems(correction, refused)
        return _confirm_page(link, ButtonForm(formdata=None), correction, 422)
    db.session.commit()
    forget_counts(record.petition)
    if isinstance(record, Signature):
        flash(_("Thank you! Your signature is confirmed and now counts."), "success")
    else:
        flash(
            _("Thank you! An organizer will review the endorsement before it is shown."),
            "success",
        )
    return redirect(url_for("public.petition", slug=record.petition.slug))


def _correction_form(link: signing.MailedLink, **kwargs):
    """The signing form without address or traps, holding the link's details to correct."""
    petition = link.record.petition
    if isinstance(link.record, Signature):
        attending = signing.asks_attendance(petition)
        return SignatureForm(
            petition=petition,
            correcting=True,
            asks_attendance=attending,
            data=link.details,
            **kwargs,
        )
    return EndorsementForm(petition=petition, correcting=True, data=link.details, **kwargs)


def _confirm_page(link, form, correction, status: int, refusal: str | None = None):
    record = link.record
    if refusal is None and signing.is_pending(record) and not record.petition.is_open():
        refusal = "closed"
    page = render_template(
        "sign/confirm.html",
        record=record,
        details=link.details,
        form=form,
        correction=correction,
        refusal=refusal,
    )
    return page, status


@bp.route("/withdraw/<token>", methods=["GET", "POST"])
def withdraw(token: str):
    """A mailed withdrawal link: GET shows a button, only its POST deletes."""
    record = signing.link_for_token(WITHDRAW, token).record
    form = ButtonForm()
    if form.validate_on_submit():
        petition = record.petition
        signing.withdraw(record)
        db.session.commit()
        forget_counts(petition)
        if isinstance(record, Signature):
            flash(_("Your signature has been withdrawn and your details deleted."), "success")
        else:
            flash(_("The endorsement has been withdrawn and its details deleted."), "success")
        return redirect(url_for("public.petition", slug=petition.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("sign/withdraw.html", record=record, form=form), status


@bp.errorhandler(InvalidToken)
def _bad_link(error: InvalidToken):
    expired = isinstance(error, ExpiredToken)
    return render_template("sign/bad_link.html", expired=expired), 410 if expired else 404


@bp.after_request
def _no_store(response):
    # Pages behind mailed links carry a personal token: keep them out of every cache.
    response.cache_control.no_store = True
    return response
