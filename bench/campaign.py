"""How long the campaign page and the moderation search take with a million signatures.

    .venv/bin/python bench/campaign.py            # SQLite, in a temporary file
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        .venv/bin/python bench/campaign.py

Fills a scratch database (it drops and recreates the tables of DATABASE_URL: never
point it at real data) with BENCH_SIZE signatures (a million by default) spread over
120 days and 30 countries, then prints the median time of each query of the campaign
page, of the whole page as an organizer gets it, and of the moderation searches.
"""

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta

from sqlalchemy import insert, text

from petition import create_app, moderation, queries
from petition.auth import create_organizer
from petition.extensions import db
from petition.models import OrganizerRole, Petition, PetitionStatus, Signature, utcnow
from petition.moderation import SignatureCriteria

SIZE = int(os.environ.get("BENCH_SIZE", "1000000"))
COUNTRIES = [
    "FR", "DE", "GB", "BE", "NL", "IT", "ES", "PT", "CH", "AT", "PL", "SE", "NO", "DK", "FI",
    "IE", "GR", "CZ", "HU", "RO", "BG", "HR", "SI", "SK", "LT", "LV", "EE", "LU", "MT", "CY",
]  # fmt: skip
PASSWORD = "bench password, not a real one"  # noqa: S105 - a scratch account


def fill(petition: Petition) -> None:
    """SIZE signatures in batches of executemany: 90% confirmed, 1% invalid, the rest pending."""
    now = utcnow()
    batch = []
    for n in range(SIZE):
        signed = now - timedelta(days=120 * n / SIZE, seconds=n % 3600)
        status = "pending" if n % 10 == 0 else "invalid" if n % 100 == 1 else "confirmed"
        batch.append(
            {
                "petition_id": petition.id,
                "full_name": f"Signer {n}",
                "email": f"s{n}@domain{n % 500}.example",
                "email_normalized": f"s{n}@domain{n % 500}.example",
                "city": "Calais",
                "country": COUNTRIES[n % len(COUNTRIES)],
                "show_publicly": n % 2 == 0,
                "wants_updates": False,
                "hidden": False,
                "status": status,
                "source": "web",
                "signed_at": signed,
                "confirmed_at": None if status == "pending" else signed + timedelta(minutes=5),
                "invalidated_at": now if status == "invalid" else None,
                "consent_at": signed,
                "privacy_notice_version": "bench",
                "token_key": f"{n:032x}",
                "mails_sent": 1,
            }
        )
        if len(batch) == 20000:
            # RETURNING makes it one INSERT per thousand rows: PostgreSQL's tally triggers run
            # per statement, and per-row statements in one transaction pile up tally versions.
            db.session.execute(insert(Signature.__table__).returning(Signature.id), batch).all()
            batch.clear()
    if batch:
        db.session.execute(insert(Signature.__table__).returning(Signature.id), batch).all()
    db.session.commit()


def settle() -> None:
    """What autovacuum would have done by now on a live server: statistics, visibility map."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE signature")
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def median_ms(function, repeat: int = 7) -> float:
    function()  # warm the caches once
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append((time.perf_counter() - began) * 1000)
        db.session.rollback()
    return statistics.median(times)


def main() -> None:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        petition = Petition(slug="bench", title="Bench", status=PetitionStatus.OPEN)
        petition.created_at = utcnow() - timedelta(days=120)
        db.session.add(petition)
        create_organizer("bench@example.org", PASSWORD, role=OrganizerRole.OWNER)
        db.session.commit()
        began = time.perf_counter()
        fill(petition)
        settle()
        print(
            f"database: {db.engine.dialect.name}; {SIZE:,} signatures inserted in "
            f"{time.perf_counter() - began:.0f} s",
            file=sys.stderr,
        )

        def page(number: int):
            return lambda: db.session.execute(
                queries.latest_signatures(petition).limit(50).offset((number - 1) * 50)
            ).all()

        def count(criteria):
            return lambda: moderation.count_invalidatable(petition, criteria)

        def search(criteria):
            return lambda: db.session.execute(
                queries.signature_search(petition, criteria).limit(50)
            ).all()

        measures = [
            ("status counts (the tally)", lambda: queries.status_counts(petition)),
            ("confirmed per day, 90 days", lambda: moderation.confirmations_by_day(petition)),
            (
                "confirmed by country",
                lambda: db.session.execute(queries.confirmed_by_country(petition)).all(),
            ),
            ("latest signatures, page 1", page(1)),
            ("latest signatures, page 100", page(100)),
            ("latest signatures, page 10,000", page(10_000)),
            (
                "awaiting endorsements",
                lambda: (
                    db.paginate(
                        queries.endorsements_awaiting_approval(petition), page=1, per_page=10
                    ).items
                ),
            ),
            ("search name contains, 1st page", search(SignatureCriteria(name="signer 12345"))),
            ("count name contains", count(SignatureCriteria(name="signer 12345"))),
            ("count domain (exact)", count(SignatureCriteria(domain="domain7.example"))),
            (
                "count signed between (7 days)",
                count(
                    SignatureCriteria(
                        signed_from=(utcnow() - timedelta(days=7)).date(),
                        signed_until=utcnow().date(),
                    )
                ),
            ),
        ]
        print(f"{'query':<34}{'median ms':>10}")
        for name, function in measures:
            print(f"{name:<34}{median_ms(function):>10.1f}")

        client = app.test_client()
        client.post("/organizer/login", data={"email": "bench@example.org", "password": PASSWORD})
        for name, path in [
            ("whole campaign page (GET)", "/organizer/p/bench/campaign"),
            ("campaign page 100 (GET)", "/organizer/p/bench/campaign?page=100"),
            ("search page by domain (GET)", "/organizer/p/bench/signatures?domain=domain7.example"),
        ]:

            def get(path=path):
                response = client.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code}")

            print(f"{name:<34}{median_ms(get, repeat=5):>10.1f}")


if __name__ == "__main__":
    main()
