"""The service plus two baselines, for the benchmark only: never part of the real app.

    gunicorn -c gunicorn.conf.py "bench.app:create_bench_app()"

The baselines run in the same gunicorn server, the same workers and on the same database
as the service they are compared with, so a ratio of the two measures our code alone:

- POST /_bench/insert: parse a form and INSERT one signature row with a plain statement,
  commit, redirect. No CSRF, no validation, no ORM objects, no outbox row.
- GET /_bench/page: public/petition.html rendered from constant Python data shaped like the
  real view's context (taken once per worker from the database, then never read again).
"""

import os
import secrets
from types import SimpleNamespace

from flask import Blueprint, Flask, redirect, render_template, request
from sqlalchemy import insert

from petition import create_app
from petition.extensions import db
from petition.models import Demand, Petition, Signature, utcnow
from petition.queries import Counts, count_signatories, petition_by_slug

BASELINE_SLUG = os.environ.get("BENCH_BASELINE_SLUG", "bench-baseline")
PAGE_SLUG = os.environ.get("BENCH_PAGE_SLUG", "cispm-calais-2016-10-14")
LATEST_SIGNERS = 20

bp = Blueprint("_bench", __name__, url_prefix="/_bench")
_constant: dict = {}  # the page's context, built once per worker
_baseline: dict = {}  # the baseline call's id, read once per worker


@bp.post("/insert")
def bare_insert():
    """The floor of a signing request: a form parsed, one row inserted, committed."""
    form = request.form
    now = utcnow()
    email = form["email"]
    db.session.execute(
        insert(Signature.__table__).values(
            petition_id=_baseline_petition_id(),
            full_name=form["full_name"],
            email=email,
            email_normalized=email.lower(),
            city=form["city"],
            country=form["country"],
            show_publicly=False,
            wants_updates=False,
            hidden=False,
            status="pending",
            source="web",
            signed_at=now,
            consent_at=now,
            privacy_notice_version="bench",
            token_key=secrets.token_hex(16),
            mails_sent=0,
        )
    )
    db.session.commit()
    return redirect("/_bench/done")


@bp.get("/page")
def constant_page():
    """The call page's template with its context built once: no database read at all."""
    if not _constant:
        _constant.update(_snapshot_context())
    return render_template("public/petition.html", **_constant)


def _baseline_petition_id() -> int:
    if not _baseline:
        _baseline["id"] = db.session.execute(petition_by_slug(BASELINE_SLUG)).scalar_one().id
    return _baseline["id"]


def _snapshot_context() -> dict:
    """A detached copy of what the real view hands to the template for PAGE_SLUG."""
    real = db.session.execute(petition_by_slug(PAGE_SLUG)).scalar_one()
    columns = {c.key: getattr(real, c.key) for c in Petition.__table__.columns}
    petition = Petition(**columns)
    petition.demands = [Demand(position=d.position, text=d.text) for d in real.demands]
    signers = [
        SimpleNamespace(full_name=f"Signer {n}", city="Calais", country="FR")
        for n in range(LATEST_SIGNERS)
    ]
    counts = count_signatories(real)
    db.session.rollback()
    return {
        "petition": petition,
        "counts": Counts(counts.individuals, counts.organizations),
        "signers": signers,
        "organizations": [],
        "more_organizations": False,
    }


def create_bench_app() -> Flask:
    """The real application, plus the baseline routes."""
    app = create_app()
    app.register_blueprint(bp)
    return app
