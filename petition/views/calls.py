"""Creating, editing, closing and reopening calls."""

from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import petitions
from ..errors import InvalidTransition
from ..extensions import db
from ..forms.calls import CallForm, TranslationForm
from ..forms.fields import ButtonForm
from ..languages import language_label, language_name
from ..models import Petition, PetitionStatus
from . import managed_petition_or_404, organizer_blueprint, require_button

bp = organizer_blueprint("calls", __name__)

# A call's text and demands, URL-encoded, outgrow the limit meant for signing forms.
EDITOR_MAX_CONTENT_LENGTH = 2 * 1024 * 1024


@bp.route("/calls/new", methods=["GET", "POST"])
def new():
    """Write a new call; its author is given rights on it."""
    request.max_content_length = EDITOR_MAX_CONTENT_LENGTH
    form = CallForm()
    if form.is_submitted() and not form.preview.data and form.validate():
        try:
            petition, _given = petitions.create_call(
                _content(form, PetitionStatus.OPEN), current_user, form.purge_after_days.data
            )
        except petitions.SlugTaken:
            db.session.rollback()
            form.slug.errors.append(_("Another call already has this address."))
        else:
            db.session.commit()
            flash(_("The call “%(title)s” is created.", title=petition.title), "success")
            return redirect(url_for("calls.edit", slug=petition.slug))
    return _editor(form, None)


@bp.route("/p/<slug:slug>/edit", methods=["GET", "POST"])
def edit(slug: str):
    """Change a call's text, demands, event, dates and retention; never its signatures."""
    petition = managed_petition_or_404(slug)
    request.max_content_length = EDITOR_MAX_CONTENT_LENGTH
    initial = _initial(petition) if request.method == "GET" else None
    form = CallForm(data=initial, current_timezone=petition.event_timezone)
    if form.is_submitted() and not form.preview.data and form.validate():
        try:
            changed = petitions.edit_call(
                petition, _content(form, petition.status), form.purge_after_days.data
            )
        except (petitions.SlugLocked, petitions.SlugTaken, petitions.TranslationExists) as error:
            db.session.rollback()
            _show_refusal(form, error)
        else:
            db.session.commit()
            flash(*((_("Saved."), "success") if changed else (_("Nothing was changed."), "info")))
            return redirect(url_for("calls.edit", slug=petition.slug))
    return _editor(form, petition)


def _show_refusal(form: CallForm, error: Exception) -> None:
    """The domain's refusal of an edit, by the field it concerns."""
    if isinstance(error, petitions.SlugLocked):
        message = _("People have signed this call at its address: the address no longer changes.")
        form.slug.errors.append(message)
    elif isinstance(error, petitions.SlugTaken):
        form.slug.errors.append(_("Another call already has this address."))
    else:
        form.language.errors.append(
            _(
                "The call is translated into this language: delete that translation "
                "first, or choose the language the call is written in."
            )
        )


@bp.post("/p/<slug:slug>/close")
def close(slug: str):
    """Stop taking signatures now."""
    petition = managed_petition_or_404(slug)
    require_button()
    try:
        petitions.close_call(petition)
    except InvalidTransition:
        flash(_("This call was already closed."), "info")
    else:
        db.session.commit()
        flash(_("The call is closed: the forms no longer take signatures."), "success")
    return redirect(url_for("calls.edit", slug=petition.slug))


@bp.post("/p/<slug:slug>/reopen")
def reopen(slug: str):
    """Take signatures again."""
    petition = managed_petition_or_404(slug)
    require_button()
    if petition.status is PetitionStatus.OPEN:
        flash(_("This call was already open."), "info")
    else:
        try:
            petitions.reopen_call(petition)
        except InvalidTransition:
            message = _(
                "This call's personal data was deleted after its campaign: it cannot reopen."
            )
            flash(message, "error")
        else:
            db.session.commit()
            flash(*_reopened(petition))
    return redirect(url_for("calls.edit", slug=petition.slug))


def _reopened(petition: Petition) -> tuple[str, str]:
    if petition.is_open():
        return _("The call is open again."), "success"
    message = _(
        "The call is open again, but its closing date has passed: change it to take signatures."
    )
    return message, "error"


def _editor(form: CallForm, petition: Petition | None):
    """The editor's page: after a preview or a refused save, the form as it was sent."""
    preview = None
    if form.is_submitted() and form.preview.data:
        form.validate()
        preview = {
            "title": form.title.data,
            "summary": form.summary.data,
            "body": petitions.render_markdown(form.body.data or ""),
            "demands": form.demand_texts(),
        }
    slug_locked = petition is not None and petitions.slug_is_locked(petition)
    if slug_locked:
        form.slug.description = _(
            "The end of the call's web address. People have signed at this address and "
            "shared it, so it no longer changes."
        )
    form.add_demand_slots()
    page = render_template(
        "organizer/calls/form.html",
        form=form,
        petition=petition,
        preview=preview,
        slug_locked=slug_locked,
        button=ButtonForm(),
        translations=_translations(petition) if petition is not None else [],
    )
    return page, 422 if form.errors else 200


def _content(form: CallForm, status: PetitionStatus) -> petitions.CallContent:
    """The call as the form describes it, in the shape content files are read into."""
    has_event = form.event_starts_at.data is not None
    return petitions.CallContent(
        slug=form.slug.data,
        language=form.language.data,
        title=form.title.data,
        summary=form.summary.data or "",
        body=form.body.data or "",
        demands=form.demand_texts(),
        status=status,
        signature_goal=form.signature_goal.data,
        closes_at=form.utc(form.closes_at),
        collects_endorsements=form.collects_endorsements.data,
        event_starts_at=form.utc(form.event_starts_at),
        event_timezone=form.timezone.data if has_event else None,
        event_place=form.event_place.data or None,
        event_address=form.event_address.data or None,
    )


def _initial(petition: Petition) -> dict:
    """The form's values for a stored call; times in its event's zone, else UTC."""
    zone = petition.event_timezone or "UTC"

    def local(moment):
        return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None) if moment else None

    return {
        "title": petition.title,
        "language": petition.language,
        "slug": petition.slug,
        "summary": petition.summary,
        "body": petition.body,
        "demands": [
            {"position": number, "text": demand.text}
            for number, demand in enumerate(petition.demands, start=1)
        ],
        "signature_goal": petition.signature_goal,
        "timezone": zone,
        "closes_at": local(petition.closes_at),
        "collects_endorsements": petition.collects_endorsements,
        "event_starts_at": local(petition.event_starts_at),
        "event_place": petition.event_place,
        "event_address": petition.event_address,
        "purge_after_days": petition.purge_after_days,
    }


# --- Translations of a call ---


@bp.route("/p/<slug:slug>/translations/new", methods=["GET", "POST"])
def new_translation(slug: str):
    """Translate the call into a language it does not exist in yet."""
    petition = managed_petition_or_404(slug)
    request.max_content_length = EDITOR_MAX_CONTENT_LENGTH
    form = TranslationForm(petition=petition)
    if form.validate_on_submit():
        language = form.language.data
        try:
            petitions.add_translation(petition, form.translation(language))
        except petitions.TranslationError as error:
            db.session.rollback()
            form.language.errors.append(_translation_refusal(error, language))
        else:
            db.session.commit()
            flash(
                _("The translation into %(language)s is saved.", language=_name(language)),
                "success",
            )
            return redirect(url_for("calls.edit", slug=petition.slug) + "#translations")
    return _translation_editor(form, petition, None)


@bp.route("/p/<slug:slug>/translations/<language>", methods=["GET", "POST"])
def edit_translation(slug: str, language: str):
    """Change the call's translation into one language."""
    petition = managed_petition_or_404(slug)
    if petitions.find_translation(petition, language) is None:
        abort(404)
    request.max_content_length = EDITOR_MAX_CONTENT_LENGTH
    if request.method == "POST":
        form = TranslationForm(petition=petition, language=language)
    else:
        stored = petitions.translation_content(petition, language)
        form = TranslationForm(petition=petition, language=language, obj=stored)
    if form.validate_on_submit():
        if petitions.edit_translation(petition, form.translation(language)):
            flash(_("Saved."), "success")
        else:
            flash(_("Nothing was changed."), "info")
        db.session.commit()
        return redirect(url_for("calls.edit_translation", slug=petition.slug, language=language))
    return _translation_editor(form, petition, language)


@bp.post("/p/<slug:slug>/translations/<language>/delete")
def delete_translation(slug: str, language: str):
    """Remove the call's translation into one language: the page then shows its own text."""
    petition = managed_petition_or_404(slug)
    require_button()
    try:
        petitions.delete_translation(petition, language)
    except LookupError:
        flash(_("There was no translation into this language."), "info")
    else:
        db.session.commit()
        flash(
            _("The translation into %(language)s is deleted.", language=_name(language)), "success"
        )
    return redirect(url_for("calls.edit", slug=petition.slug) + "#translations")


def _name(language: str) -> str:
    return language_name(language, str(get_locale() or "en"))


def _translation_refusal(error: petitions.TranslationError, language: str) -> str:
    """A domain refusal the form's own checks did not catch (someone added it meanwhile)."""
    if isinstance(error, petitions.OwnLanguage):
        return _("This is the call's own language: a translation is in another.")
    if isinstance(error, petitions.TranslationExists):
        return _(
            "The call is already translated into %(language)s: edit that translation.",
            language=_name(language),
        )
    return _("Please choose from the list.")


def _translation_editor(form: TranslationForm, petition: Petition, language: str | None):
    """The translation's page: after a refused save, the form as it was sent."""
    page = render_template(
        "organizer/calls/translation.html",
        form=form,
        petition=petition,
        language=language,
        language_name=_name(language) if language else None,
        demands=[demand.text for demand in petition.demands],
        button=ButtonForm(),
    )
    return page, 422 if form.errors else 200


def _translations(petition: Petition) -> list[dict]:
    """The call's translations as the editor lists them: name, date, untranslated demands."""
    return [
        {
            "code": row.language,
            "name": _name(row.language),
            "label": language_label(row.language, str(get_locale() or "en")),
            "updated_at": row.updated_at,
            "untranslated": len(petitions.call_text(petition, row.language).untranslated),
        }
        for row in petition.translations
    ]
