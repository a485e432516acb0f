"""Public pages: the list of calls, a call, its signatories, its counts."""

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import LANGUAGE_COOKIE
from ..auth import safe_next_url
from ..extensions import db
from ..languages import own_name
from ..models import Endorsement, Petition, Signature
from ..petitions import CallText
from ..queries import (
    cached,
    open_petitions,
    public_counts,
    public_organizations,
    public_signers,
    public_signers_page,
)
from ..security import allow_any_origin
from . import (
    CONTENT_LANGUAGE,
    neighbour_ids,
    page_number,
    petition_or_404,
    public_petition_or_404,
    reader_call_texts,
)
from .share import kept_for_visitors_without_session, shared_cache

bp = Blueprint("public", __name__)

LATEST_SIGNERS = 20
LISTED_ORGANIZATIONS = 50


@bp.get("/")
@shared_cache
def index():
    """The open calls."""
    petitions = db.session.execute(open_petitions()).scalars().all()
    counts = {petition.id: public_counts(petition) for petition in petitions}
    return render_template(
        "public/index.html",
        petitions=petitions,
        counts=counts,
        texts=reader_call_texts(petitions),
    )


@bp.get("/p/<slug:slug>")
@shared_cache
@kept_for_visitors_without_session
def petition(slug: str):
    """One call: its text, demands, rally, counts and signatories."""
    petition = public_petition_or_404(slug)
    signers, organizations = cached(
        ("public_lists", petition.id),
        current_app.config["COUNTS_CACHE_SECONDS"],
        lambda: _latest_lists(petition),
    )
    return render_template(
        "public/petition.html",
        petition=petition,
        counts=public_counts(petition),
        signers=signers,
        organizations=organizations,
        more_organizations=len(organizations) == LISTED_ORGANIZATIONS,
    )


def _latest_lists(petition) -> tuple[list, list]:
    """The call page's lists as plain rows of what it shows, shared like the counts: a viral
    call's readers do not each query them."""
    signers = db.session.execute(
        public_signers(petition)
        .with_only_columns(Signature.full_name, Signature.city, Signature.country)
        .limit(LATEST_SIGNERS)
    ).all()
    organizations = db.session.execute(
        public_organizations(petition)
        .with_only_columns(
            Endorsement.organization, Endorsement.website, Endorsement.city, Endorsement.country
        )
        .limit(LISTED_ORGANIZATIONS)
    ).all()
    return signers, organizations


@bp.app_template_global()
def call_languages(petition: Petition, text: CallText) -> list[dict]:
    """The languages the call exists in, each named in itself, as links that switch to it:
    the interface's languages through the language switcher (the whole page changes), the
    others with ?lang= (the call's words only: the interface does not speak them yet)."""
    interface = current_app.config["LANGUAGES"]
    page = url_for("public.petition", slug=petition.slug)
    return [
        {
            "code": code,
            "name": own_name(code),
            "href": url_for("public.language", code=code, next=page)
            if code in interface
            else url_for("public.petition", slug=petition.slug, **{CONTENT_LANGUAGE: code}),
            "current": code == text.language,
        }
        for code in text.languages
    ]


@bp.get("/p/<slug:slug>.json")
@shared_cache
def petition_counts(slug: str):
    """The public counts, for other sites and scripts."""
    petition = petition_or_404(slug)
    counts = public_counts(petition)
    response = jsonify(
        slug=petition.slug, individuals=counts.individuals, organizations=counts.organizations
    )
    return allow_any_origin(response)


@bp.get("/p/<slug:slug>/signers")
@shared_cache
def signers(slug: str):
    """Every confirmed individual who chose to be shown, a page at a time, latest first."""
    petition = petition_or_404(slug)
    try:
        before, after = neighbour_ids()
    except ValueError:
        abort(404)
    page = public_signers_page(
        petition, current_app.config["PUBLIC_SIGNERS_PER_PAGE"], before=before, after=after
    )
    return render_template(
        "public/signers.html", petition=petition, page=page, counts=public_counts(petition)
    )


@bp.get("/p/<slug:slug>/organizations")
@shared_cache
def organizations(slug: str):
    """Every approved organization that chose to be shown, a page at a time."""
    petition = petition_or_404(slug)
    page = db.paginate(
        public_organizations(petition),
        page=page_number(),
        per_page=current_app.config["PUBLIC_SIGNERS_PER_PAGE"],
    )
    return render_template(
        "public/organizations.html", petition=petition, page=page, counts=public_counts(petition)
    )


@bp.get("/privacy")
def privacy():
    """The privacy notice signers accept."""
    return render_template("public/privacy.html")


@bp.get("/language/<code>")
def language(code: str):
    """Remember the visitor's language for a year, then go back to the page they were on."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    back = safe_next_url(request.args.get("next")) or safe_next_url(request.referrer)
    response = redirect(back or url_for("public.index"))
    response.set_cookie(
        LANGUAGE_COOKIE,
        code,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    response.cache_control.no_store = True
    return response


@bp.get("/healthz")
def healthz():
    """For load balancers and monitoring: 200 when the database answers, else 503."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        response = jsonify(status="database unavailable")
        response.status_code = 503
    else:
        response = jsonify(status="ok")
    response.cache_control.no_store = True
    return response
