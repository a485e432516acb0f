"""Public pages: the list of calls, a call, its signatories, its counts."""

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import Endorsement, Signature
from ..queries import (
    cached,
    open_petitions,
    public_counts,
    public_organizations,
    public_signers,
)
from . import page_number, petition_or_404

bp = Blueprint("public", __name__)

LATEST_SIGNERS = 20
LISTED_ORGANIZATIONS = 50


@bp.get("/")
def index():
    """The open calls."""
    petitions = db.session.execute(open_petitions()).scalars().all()
    counts = {petition.id: public_counts(petition) for petition in petitions}
    return render_template("public/index.html", petitions=petitions, counts=counts)


@bp.get("/p/<slug:slug>")
def petition(slug: str):
    """One call: its text, demands, rally, counts and signatories."""
    petition = petition_or_404(slug)
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


@bp.get("/p/<slug:slug>.json")
def petition_counts(slug: str):
    """The public counts, for other sites and scripts."""
    petition = petition_or_404(slug)
    counts = public_counts(petition)
    response = jsonify(
        slug=petition.slug, individuals=counts.individuals, organizations=counts.organizations
    )
    response.cache_control.public = True
    response.cache_control.max_age = 30
    return response


@bp.get("/p/<slug:slug>/signers")
def signers(slug: str):
    """Every confirmed individual who chose to be shown, a page at a time."""
    petition = petition_or_404(slug)
    page = db.paginate(
        public_signers(petition),
        page=page_number(),
        per_page=current_app.config["PUBLIC_SIGNERS_PER_PAGE"],
    )
    return render_template(
        "public/signers.html", petition=petition, page=page, counts=public_counts(petition)
    )


@bp.get("/p/<slug:slug>/organizations")
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
