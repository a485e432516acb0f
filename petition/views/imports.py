"""Signatures from the street: importing paper signatures and other tools' CSV files.

An upload that stores every row ends in a redirect. A report with rejected rows is
shown in the answer to the upload itself: it can be far too long for a session
cookie, and nothing else keeps it. Sending such a form again stores nothing twice:
an identical file is refused once imported (imports.previous_import).
"""

import io

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from .. import imports, queries
from ..extensions import db
from ..forms.imports import ImportForm
from ..models import SignatureSource
from . import managed_petition_or_404, organizer_blueprint

bp = organizer_blueprint("imports", __name__)

# Room for the form's other fields and the multipart envelope around the file.
_FORM_OVERHEAD = 64 * 1024
# The page lists this many problems; the counts stay exact.
PROBLEMS_SHOWN = 1000


def _limits() -> tuple[int, int]:
    config = current_app.config
    return (
        config["IMPORT_MAX_BYTES"],
        config["IMPORT_MAX_ROWS"],
    )


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return _("%(count)d MB") % {"count": size // (1024 * 1024)}
    return _("%(count)d KB") % {"count": size // 1024}


def _page(petition, form, status=200, report=None, error=None):
    max_bytes, max_rows = _limits()
    page = render_template(
        "organizer/imports/import.html",
        petition=petition,
        form=form,
        report=report,
        error=error,
        fields=imports.FIELDS,
        max_size=_size(max_bytes),
        max_rows=max_rows,
        problems_shown=PROBLEMS_SHOWN,
    )
    return page, status


@bp.get("/p/<slug:slug>/import")
def start(slug: str):
    """The upload form, its columns explained; ?preset= fills in another kind of file."""
    petition = managed_petition_or_404(slug)
    preset = request.args.get("preset", "template")
    mapping = imports.PRESETS.get(preset, imports.PRESETS["template"])
    source = SignatureSource.IMPORT if preset == "export" else SignatureSource.PAPER
    form = ImportForm(
        data={"source": source.value, **{f"column_{k}": v for k, v in mapping.items()}}
    )
    return _page(petition, form)


@bp.post("/p/<slug:slug>/import")
def upload(slug: str):
    """Check a CSV file, and store its signatures unless only a check was asked for."""
    petition = managed_petition_or_404(slug)
    max_bytes, max_rows = _limits()
    too_big = _("The file is over %(size)s: split it into smaller files.") % {
        "size": _size(max_bytes)
    }
    request.max_content_length = max_bytes + _FORM_OVERHEAD
    try:
        form = ImportForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        return _page(petition, ImportForm(formdata=None), status=413, error=too_big)
    if not valid:
        return _page(petition, form, status=422)
    upload = form.file.data
    content = upload.read(max_bytes + 1)
    if len(content) > max_bytes:
        return _page(petition, form, status=413, error=too_big)
    dry_run = bool(form.check.data)
    try:
        csv_file = imports.open_csv(io.BytesIO(content))
        report = imports.import_signatures(
            petition,
            csv_file.text,
            mapping=form.mapping(),
            source=SignatureSource(form.source.data),
            keep_valid=form.keep_valid.data,
            dry_run=dry_run,
            max_rows=max_rows,
            filename=upload.filename,
            encoding=csv_file.encoding,
            sha256=csv_file.sha256,
        )
    except imports.ImportFileError as error:
        db.session.rollback()
        return _page(petition, form, status=422, error=error.message)
    if not report.stored:
        db.session.rollback()
        status = 200 if dry_run else 422
        return _page(petition, form, status=status, report=report)
    db.session.commit()
    queries.forget_counts(petition)
    if report.rejected_rows:
        return _page(petition, form, report=report)
    flash(_("%(count)d signatures imported.") % {"count": report.stored}, "success")
    if report.encoding != "UTF-8":
        flash(
            _(
                "The file was not in UTF-8 and was read as %(encoding)s: check that the "
                "names look right."
            )
            % {"encoding": report.encoding},
            "warning",
        )
    return redirect(url_for("organizer.petition", slug=petition.slug))


@bp.get("/p/<slug:slug>/import/template.csv")
def template(slug: str):
    """The CSV template: our column names, UTF-8 with a byte-order mark."""
    petition = managed_petition_or_404(slug)
    return Response(
        imports.template_csv(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{petition.slug}-signatures-template.csv"'
        },
    )
