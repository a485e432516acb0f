"""How long the public counts take at 10 thousand and 1 million signatures.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench .venv/bin/python bench/counts.py
    .venv/bin/python bench/counts.py            # SQLite, in a temporary file

Fills a scratch database (it drops and recreates the tables of DATABASE_URL: never
point it at real data), then prints the median time of the uncached count (read from
the tally the triggers keep), of counting the rows on the index (how counts were made
before the tally) and of a cached read, side by side, at each size.
"""

import os
import statistics
import sys
import tempfile
import time

from sqlalchemy import func, insert, select, text

from petition import create_app
from petition.extensions import db
from petition.models import Petition, PetitionStatus, Signature, SignatureStatus, utcnow
from petition.queries import count_signatories, public_counts

SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "10000,1000000").split(",")]


def insert_rows(batch: list[dict]) -> None:
    """One multi-row INSERT per thousand rows (RETURNING makes SQLAlchemy batch them).

    A plain executemany is one statement per row on psycopg: PostgreSQL's tally
    triggers would run per row, and in one transaction the tally's rows pile up versions.
    """
    db.session.execute(insert(Signature.__table__).returning(Signature.id), batch).all()


def fill(petition_id: int, start: int, stop: int) -> None:
    now = utcnow()
    batch = []
    for n in range(start, stop):
        batch.append(
            {
                "petition_id": petition_id,
                "full_name": f"Signer {n}",
                "email": f"s{n}@example.org",
                "email_normalized": f"s{n}@example.org",
                "city": "Calais",
                "country": "FR",
                "show_publicly": n % 2 == 0,
                "wants_updates": False,
                "status": "confirmed" if n % 10 else "pending",
                "signed_at": now,
                "confirmed_at": now if n % 10 else None,
                "consent_at": now,
                "privacy_notice_version": "bench",
                "token_key": f"{n:032x}",
                "mails_sent": 1,
            }
        )
        if len(batch) == 20000:
            insert_rows(batch)
            batch.clear()
    if batch:
        insert_rows(batch)
    db.session.commit()


def index_count(petition: Petition) -> int:
    """The confirmed signatures counted on the index, as counts were made before the tally."""
    return db.session.scalar(
        select(func.count())
        .select_from(Signature)
        .where(Signature.petition_id == petition.id, Signature.status == SignatureStatus.CONFIRMED)
    )


def settle() -> None:
    """What autovacuum would have done by now on a live server: index-only scans work."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE signature, signatory_tally")
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def median_ms(function, repeat: int = 21) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.drop_all()
        db.create_all()
        petition = Petition(slug="bench", title="Bench", status=PetitionStatus.OPEN)
        db.session.add(petition)
        db.session.commit()
        print(f"database: {db.engine.dialect.name}", file=sys.stderr)
        print("signatures  tally count (ms)  index count (ms)  cached count (ms)")
        filled = 0
        for size in SIZES:
            fill(petition.id, filled, size)
            filled = size
            settle()
            if count_signatories(petition).individuals != index_count(petition):
                raise RuntimeError("the tally and the index disagree")
            exact = median_ms(lambda: count_signatories(petition))
            counted = median_ms(lambda: index_count(petition))
            cached = median_ms(lambda: public_counts(petition))
            print(f"{size:>10,}  {exact:>16.3f}  {counted:>16.2f}  {cached:>17.4f}")


if __name__ == "__main__":
    main()
