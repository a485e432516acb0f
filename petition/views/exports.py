"""Exports with filters (CSV, JSON Lines), their manifests, and the printable hand-over list."""

from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select

from .. import audit, exports, queries
from ..extensions import db
from ..forms.exports import ExportFilterForm
from ..models import ExportManifest, Petition, utcnow
from . import managed_petition_or_404, organizer_blueprint, page_number

bp = organizer_blueprint("exports", __name__)

# Rows of the hand-over page rendered before a piece goes out to the client.
_HANDOVER_ROWS_PER_FETCH = 1000
_TEMPLATE_PIECES_PER_CHUNK = 500


def _export_page(petition: Petition, form: ExportFilterForm, status: int = 200):
    manifests = db.paginate(queries.export_manifests(petition), page=page_number(), per_page=20)
    return (
        render_template(
            "organizer/exports/index.html", petition=petition, form=form, manifests=manifests
        ),
        status,
    )


@bp.get("/p/<slug:slug>/exports")
def index(slug: str):
    """The export form of a call, and its past exports."""
    petition = managed_petition_or_404(slug)
    return _export_page(petition, ExportFilterForm(formdata=request.args))


@bp.get("/p/<slug:slug>/exports/download")
def download(slug: str):
    """Stream the filtered export, recording its manifest first and completing it at the end."""
    petition = managed_petition_or_404(slug)
    form = ExportFilterForm(formdata=request.args)
    if not form.validate():
        return _export_page(petition, form, 422)
    return stream_download(petition, form.filters(), form.format.data)


def stream_download(petition: Petition, filters: exports.ExportFilters, fmt: str) -> Response:
    """The download of valid filters: manifest and audit entry committed, then the stream."""
    query = filters.query(petition)
    manifest = exports.start_export(petition, filters, fmt, organizer=current_user)
    manifest_id, filename = manifest.id, manifest.filename
    db.session.commit()

    def body():
        yield from exports.stream_export(manifest_id, filters.who, fmt, query)
        db.session.commit()  # the manifest's end: rows, SHA-256, window

    described_by = url_for("exports.manifest_json", manifest_id=manifest_id, _external=True)
    return Response(
        stream_with_context(body()),
        mimetype=exports.MIMETYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Link": f'<{described_by}>; rel="describedby"',
        },
    )


def _manifest_or_403(manifest_id: int) -> ExportManifest:
    manifest = db.get_or_404(ExportManifest, manifest_id)
    # A manifest whose call was deleted is for owners only.
    allowed = (
        current_user.can_work_on(manifest.petition)
        if manifest.petition is not None
        else current_user.is_owner
    )
    if not allowed:
        abort(403)
    return manifest


@bp.get("/exports/<int:manifest_id>")
def manifest(manifest_id: int):
    """What one export held: rows, filters, time window, SHA-256, who and when."""
    manifest = _manifest_or_403(manifest_id)
    return render_template(
        "organizer/exports/manifest.html",
        manifest=manifest,
        document=exports.manifest_document(manifest),
    )


@bp.get("/exports/<int:manifest_id>.json")
def manifest_json(manifest_id: int):
    """The manifest as JSON, to keep beside the file it describes."""
    manifest = _manifest_or_403(manifest_id)
    response = jsonify(exports.manifest_document(manifest))
    filename = f"{manifest.filename}.manifest.json"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _stream_template(name: str, **context) -> Response:
    """A page sent as it renders, in pieces: its rows are never all in memory."""
    app = current_app._get_current_object()
    template = app.jinja_env.get_template(name)
    app.update_template_context(context)
    stream = template.stream(context)
    stream.enable_buffering(_TEMPLATE_PIECES_PER_CHUNK)
    return Response(stream_with_context(stream), mimetype="text/html")


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


@bp.get("/p/<slug:slug>/handover")
def handover(slug: str):
    """A printable list for handing the call to an authority: text, demands, who supports it."""
    petition = managed_petition_or_404(slug)
    counts = queries.count_signatories(petition)
    shown = queries.handover_signers(petition)
    shown_count = _count(shown)
    audit.record(
        "handover",
        petition=petition,
        individuals=counts.individuals,
        individuals_shown=shown_count,
        organizations=counts.organizations,
        organizations_shown=_count(queries.public_organizations(petition)),
    )
    db.session.commit()
    # The body is rendered after this request's session is closed (a new one reads the
    # rows): what the page shows of the call and the organizer is loaded now.
    db.session.refresh(petition)
    db.session.refresh(current_user._get_current_object())
    demands = [demand.text for demand in petition.demands]
    organizations = db.session.execute(queries.public_organizations(petition)).scalars().all()
    # The session cookie goes out before the body: the log-out button's token must exist now.
    generate_csrf()

    def signers():
        yield from db.session.execute(shown.execution_options(yield_per=_HANDOVER_ROWS_PER_FETCH))

    return _stream_template(
        "organizer/exports/handover.html",
        petition=petition,
        demands=demands,
        counts=counts,
        shown_count=shown_count,
        organizations=organizations,
        signers=signers(),
        generated_at=utcnow(),
    )
