"""The organizers' workspace: their calls, moderation and exports. Login required throughout."""

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from .. import audit, queries, signing
from ..errors import InvalidTransition
from ..exports import export_csv, export_filename
from ..extensions import db
from ..forms import ButtonForm
from ..models import Endorsement, utcnow
from . import managed_petition_or_404, organizer_blueprint, page_number

bp = organizer_blueprint("organizer", __name__)


@bp.get("/")
def index():
    """The calls this organizer works on, with their counts by status."""
    petitions = db.session.execute(queries.petitions_for(current_user)).scalars().all()
    counts = {petition.id: queries.status_counts(petition) for petition in petitions}
    return render_template("organizer/index.html", petitions=petitions, counts=counts)


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
    )


@bp.post("/endorsements/<int:endorsement_id>/<any(approve, reject):decision>")
def review(endorsement_id: int, decision: str):
    """Approve or reject one endorsement."""
    endorsement = db.get_or_404(Endorsement, endorsement_id)
    managed_petition_or_404(endorsement.petition.slug)
    if not ButtonForm().validate_on_submit():
        raise CSRFError()
    action = signing.approve if decision == "approve" else signing.reject
    try:
        action(endorsement, current_user)
    except InvalidTransition:
        abort(409)
    audit.record(decision, petition=endorsement.petition, subject=f"endorsement {endorsement.id}")
    db.session.commit()
    queries.forget_counts(endorsement.petition)
    message = _("%(name)s approved.") if decision == "approve" else _("%(name)s rejected.")
    flash(message % {"name": endorsement.organization}, "success")
    return redirect(url_for("organizer.petition", slug=endorsement.petition.slug))


@bp.get("/p/<slug:slug>/export/<any(individuals, organizations):who>.csv")
def export(slug: str, who: str):
    """Download signatories as CSV (confirmed/approved only, unless ?all=1)."""
    petition = managed_petition_or_404(slug)
    all_statuses = request.args.get("all") == "1"
    if who == "individuals":
        query = queries.export_individuals(petition, all_statuses)
    else:
        query = queries.export_organizations(petition, all_statuses)
    filename = export_filename(petition.slug, who, utcnow())
    return Response(
        stream_with_context(export_csv(query, who)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
