"""The organizers' workspace: their calls, moderation and exports. Login required throughout."""

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import BadRequest

from .. import moderation, queries, retention
from ..errors import InvalidTransition
from ..exports import ExportFilters
from ..extensions import db
from ..forms.calls import PurgeForm
from ..forms.fields import ButtonForm
from ..models import Endorsement
from . import (
    managed_petition_or_404,
    organizer_blueprint,
    owner_required,
    page_number,
    refuse_forged,
    require_button,
)
from .exports import stream_download

bp = organizer_blueprint("organizer", __name__)


@bp.get("/")
def index():
    """The calls this organizer works on, with their counts by status."""
    petitions = db.session.execute(queries.petitions_for(current_user)).scalars().all()
    counts = {petition.id: queries.status_counts(petition) for petition in petitions}
    public = {petition.id: queries.count_signatories(petition) for petition in petitions}
    return render_template(
        "organizer/index.html", petitions=petitions, counts=counts, public=public
    )


@bp.get("/p/<slug:slug>")
def petition(slug: str):
    """One call: counts, endorsements awaiting approval, exports."""
    petition = managed_petition_or_404(slug)
    awaiting = db.paginate(
        queries.endorsements_awaiting_approval(petition), page=page_number(), per_page=50
    )
    return render_template(
        "organizer/petition.html",
        petition=petition,
        counts=queries.status_counts(petition),
        public=queries.count_signatories(petition),
        awaiting=awaiting,
        form=ButtonForm(),
        purge_form=PurgeForm(),
        purge_date=retention.purge_date(petition),
    )


@bp.post("/endorsements/<int:endorsement_id>/<any(approve, reject):decision>")
def review(endorsement_id: int, decision: str):
    """Approve or reject one endorsement."""
    endorsement = db.get_or_404(Endorsement, endorsement_id)
    managed_petition_or_404(endorsement.petition.slug)
    require_button()
    review = moderation.approve if decision == "approve" else moderation.reject
    try:
        review(endorsement, current_user)
    except InvalidTransition:
        abort(409)
    db.session.commit()
    queries.forget_counts(endorsement.petition)
    message = _("%(name)s approved.") if decision == "approve" else _("%(name)s rejected.")
    flash(message % {"name": endorsement.organization}, "success")
    return redirect(url_for("organizer.petition", slug=endorsement.petition.slug))


@bp.get("/p/<slug:slug>/export/<any(individuals, organizations):who>.csv")
def export(slug: str, who: str):
    """The CSV links of this page (?all=1 for every status), through the exports' download."""
    petition = managed_petition_or_404(slug)
    status = "all" if request.args.get("all") == "1" else None
    return stream_download(petition, ExportFilters(who=who, status=status), "csv")


@bp.post("/p/<slug:slug>/purge")
@owner_required
def purge(slug: str):
    """Delete every signature and endorsement of a closed call, keeping its counts."""
    petition = managed_petition_or_404(slug)
    form = PurgeForm()
    if not form.validate_on_submit():
        refuse_forged(form)
        raise BadRequest()
    if form.slug.data != petition.slug:
        flash(_("Type the call's address name exactly to confirm the deletion."), "error")
    else:
        try:
            deleted = retention.purge_call(petition)
        except InvalidTransition:
            flash(_("Close the call before deleting its signatures."), "error")
        else:
            db.session.commit()
            queries.forget_counts(petition)
            flash(_purged(deleted), "success")
    return redirect(url_for("organizer.petition", slug=petition.slug))


def _purged(deleted: dict[str, int]) -> str:
    return _(
        "%(signatures)d signatures and %(endorsements)d endorsements deleted; the counts stay.",
        **deleted,
    )
