"""A call's campaign at a glance, and moderation: endorsements, hiding, invalid signatures."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from .. import moderation, queries
from ..auth import safe_next_url
from ..errors import InvalidTransition
from ..extensions import db
from ..forms.fields import ButtonForm
from ..forms.moderation import (
    SIGNATURE_STATUSES,
    EndorsementBulkForm,
    InvalidateForm,
    SignatureBulkForm,
    SignatureSearchForm,
)
from ..models import Petition, Signature, SignatureStatus, utcnow
from ..moderation import SignatureCriteria
from . import managed_petition_or_404, organizer_blueprint, page_number, refuse_forged

bp = organizer_blueprint("moderation", __name__)

PER_PAGE = 50


@bp.context_processor
def _labels() -> dict:
    return {"status_labels": SIGNATURE_STATUSES}


@bp.get("/p/<slug:slug>/campaign")
def campaign(slug: str):
    """The campaign at a glance: counts, signatures per day, countries, latest signatures."""
    petition = managed_petition_or_404(slug)
    # The aggregates read the whole call (a second at a million signatures): shared by
    # this process's requests for CAMPAIGN_CACHE_SECONDS, dropped when someone moderates.
    figures = queries.cached(
        ("campaign", petition.id),
        current_app.config["CAMPAIGN_CACHE_SECONDS"],
        lambda: {
            "counts": queries.status_counts(petition),
            "public": queries.count_signatories(petition),  # with the counts a purge kept
            "days": moderation.confirmations_by_day(petition),
            "countries": db.session.execute(queries.confirmed_by_country(petition)).all(),
            # Who ticked "I will attend": asked only on calls with a rally.
            "attending": queries.attendance_counts(petition) if petition.event_starts_at else None,
            "as_of": utcnow(),
        },
    )
    counts = figures["counts"]
    latest = db.paginate(
        queries.latest_signatures(petition), page=page_number(), per_page=PER_PAGE, count=False
    )
    # The total is known from the counts by status: no second count of the whole call.
    latest.total = sum(counts.get(f"individuals_{status.value}", 0) for status in SignatureStatus)
    return render_template(
        "organizer/moderation/campaign.html",
        petition=petition,
        counts=counts,
        public=figures["public"],
        days=figures["days"],
        countries=figures["countries"],
        attending=figures["attending"],
        figures_as_of=figures["as_of"],
        latest=latest,
        button=ButtonForm(),
        awaiting=db.paginate(queries.endorsements_awaiting_approval(petition), page=1, per_page=10),
    )


@bp.get("/p/<slug:slug>/endorsements")
def endorsements(slug: str):
    """The endorsements awaiting approval, with boxes to approve or reject many at once."""
    petition = managed_petition_or_404(slug)
    return _endorsements_page(petition, EndorsementBulkForm(formdata=None))


@bp.post("/p/<slug:slug>/endorsements")
def review_endorsements(slug: str):
    """Approve or reject the ticked endorsements: all of them, or none if one changed."""
    petition = managed_petition_or_404(slug)
    form = EndorsementBulkForm()
    if not form.validate_on_submit():
        refuse_forged(form)
        return _endorsements_page(petition, form, status=422)
    approving = form.decision.data == "approve"
    try:
        count = moderation.review_ticked(
            petition, set(form.endorsements.data), approving, current_user
        )
    except moderation.NotOnTheList:
        db.session.rollback()
        return _endorsements_page(petition, form, REFUSALS["not_on_the_list"], status=422)
    except InvalidTransition:
        db.session.rollback()
        unticked = EndorsementBulkForm(formdata=None)
        return _endorsements_page(petition, unticked, REFUSALS["reviewed_meanwhile"], 409)
    db.session.commit()
    queries.forget_counts(petition)
    flash(_reviewed(approving, count), "success")
    return redirect(url_for(".endorsements", slug=petition.slug))


def _reviewed(approving: bool, count: int) -> str:
    if approving:
        return ngettext("%(num)d endorsement approved.", "%(num)d endorsements approved.", count)
    return ngettext("%(num)d endorsement rejected.", "%(num)d endorsements rejected.", count)


def _endorsements_page(petition: Petition, form, message: str | None = None, status: int = 200):
    awaiting = db.paginate(
        queries.endorsements_awaiting_approval(petition), page=page_number(), per_page=PER_PAGE
    )
    page = render_template(
        "organizer/moderation/endorsements.html",
        petition=petition,
        awaiting=awaiting,
        form=form,
        message=message,
    )
    return page, status


@bp.get("/p/<slug:slug>/signatures")
def signatures(slug: str):
    """Search a call's signatures (a GET: it changes nothing); offer bulk changes."""
    petition = managed_petition_or_404(slug)
    form = SignatureSearchForm(formdata=request.args)
    if not form.validate():
        return _search_page(petition, form, status=422)
    return _search_page(petition, form)


@bp.post("/p/<slug:slug>/signatures/<any(invalidate, restore):action>")
def change_matching(slug: str, action: str):
    """Invalidate or restore every signature of a search, if the count is still the one seen."""
    petition = managed_petition_or_404(slug)
    form = SignatureBulkForm()
    if not form.validate_on_submit():
        refuse_forged(form)
        errors = form.form_errors or [_("Please correct the search.")]
        return _search_page(petition, SignatureSearchForm(request.form), errors[0], 422)
    criteria, restoring = _criteria(form), action == "restore"
    try:
        count = moderation.change_matching(
            petition, criteria, restoring, form.expected.data, form.reason.data or None
        )
    except moderation.CountChanged as changed:
        db.session.rollback()
        return _search_page(petition, SignatureSearchForm(request.form), _changed(changed), 409)
    db.session.commit()
    queries.forget_counts(petition)
    flash(_matching_changed(restoring, count), "success")
    return redirect(url_for(".signatures", slug=petition.slug, **_search_args(criteria)))


def _changed(changed: moderation.CountChanged) -> str:
    return _(
        "The number of matching signatures changed: you saw %(expected)d, there are now "
        "%(count)d. Nothing was changed: check the list and confirm again.",
        expected=changed.expected,
        count=changed.count,
    )


def _matching_changed(restoring: bool, count: int) -> str:
    if restoring:
        return ngettext("%(num)d signature restored.", "%(num)d signatures restored.", count)
    return ngettext(
        "%(num)d signature marked invalid.", "%(num)d signatures marked invalid.", count
    )


def _criteria(form) -> SignatureCriteria:
    """The search a form describes."""
    status = getattr(form, "status", None)
    return SignatureCriteria(
        name=form.name.data or "",
        email=form.email.data or "",
        domain=form.domain.data or "",
        signed_from=form.signed_from.data,
        signed_until=form.signed_until.data,
        status=SignatureStatus(status.data) if status is not None and status.data else None,
        origin=form.origin.data,
    )


def _search_args(criteria: SignatureCriteria) -> dict[str, str]:
    """The query string of a search, for links and redirects."""
    return criteria.query_args()


def _search_page(petition: Petition, form, message: str | None = None, status: int = 200):
    criteria = _criteria(form) if not form.errors else None
    results = None
    invalidatable = restorable = None
    if criteria is not None:
        results = db.paginate(
            queries.signature_search(petition, criteria), page=page_number(), per_page=PER_PAGE
        )
        if criteria.narrows():
            invalidatable = moderation.count_invalidatable(petition, criteria)
            restorable = moderation.count_restorable(petition, criteria)
    page = render_template(
        "organizer/moderation/signatures.html",
        petition=petition,
        form=form,
        criteria=criteria,
        search_args=_search_args(criteria) if criteria else {},
        results=results,
        invalidatable=invalidatable,
        restorable=restorable,
        bulk_form=SignatureBulkForm(formdata=None),
        button=ButtonForm(),
        message=message,
    )
    return page, status


def _signature_or_404(signature_id: int, lock: bool = False) -> Signature:
    """The signature, if the logged-in organizer works on its call: else 404 or 403."""
    # A change locks the row until the commit, so that its state check holds.
    signature = db.get_or_404(Signature, signature_id, with_for_update=lock)
    if not current_user.can_work_on(signature.petition):
        abort(403)
    return signature


@bp.get("/signatures/<int:signature_id>")
def signature(signature_id: int):
    """One signature with its moderation actions."""
    return _signature_page(_signature_or_404(signature_id), InvalidateForm(formdata=None))


@bp.post("/signatures/<int:signature_id>/<any(hide, unhide, invalidate, restore):action>")
def change_signature(signature_id: int, action: str):
    """Hide, show again, invalidate or restore one signature."""
    signature = _signature_or_404(signature_id, lock=True)
    form = InvalidateForm() if action == "invalidate" else ButtonForm()
    if not form.validate_on_submit():
        refuse_forged(form)
        return _signature_page(signature, form, status=422)
    try:
        moderation.change_one(signature, action, getattr(form, "reason", None) and form.reason.data)
    except InvalidTransition:
        db.session.rollback()
        unchanged = InvalidateForm(formdata=None)
        return _signature_page(signature, unchanged, REFUSALS["signature_changed"], 409)
    db.session.commit()
    if action in ("invalidate", "restore"):
        queries.forget_counts(signature.petition)
    flash(SIGNATURE_CHANGED[action], "success")
    target = safe_next_url(request.form.get("next"))
    return redirect(target or url_for(".signature", signature_id=signature.id))


# What an organizer is told after changing one signature.
SIGNATURE_CHANGED = {
    "hide": _l("The signature is hidden from the public list."),
    "unhide": _l("The signature may show in the public list again."),
    "invalidate": _l("The signature is marked invalid: it no longer counts."),
    "restore": _l("The signature is restored."),
}
# Why a moderation was refused, when someone else changed the records meanwhile.
REFUSALS = {
    "not_on_the_list": _l("Some of the ticked endorsements are not on this call's list."),
    "reviewed_meanwhile": _l(
        "Some of the ticked endorsements were reviewed meanwhile. Nothing was changed: "
        "check the list and try again."
    ),
    "signature_changed": _l(
        "This signature changed meanwhile: nothing was done. Check it and try again."
    ),
}


def _signature_page(signature: Signature, form, message: str | None = None, status: int = 200):
    page = render_template(
        "organizer/moderation/signature.html",
        signature=signature,
        petition=signature.petition,
        undeliverable=db.session.scalars(queries.failed_mails(signature)).first(),
        same_origin=db.session.scalar(queries.same_origin_count(signature)),
        form=form,
        button=ButtonForm(),
        message=message,
    )
    return page, status
