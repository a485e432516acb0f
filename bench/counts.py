"""How long the public counts take at 10 thousand and 1 million signatures.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench .venv/bin/python bench/counts.py
    .venv/bin/python bench/counts.py            # SQLite, in a temporary file

Fills a scratch database (it drops and recreates the tables of DATABASE_URL: never
point it at real data), then prints the median time of the indexed count and of a
cached read, side by side, at each size.
"""

import os
import statistics
import sys
import tempfile
import time

from sqlalchemy import insert, text

from petition import create_app
from petition.extensions import db
from petition.models import Petition, PetitionStatus, Signature, utcnow
from petition.queries import count_signatories, public_counts

SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "10000,1000000").split(",")]


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
            db.session.execute(insert(Signature.__table__), batch)
            batch.clear()
    if batch:
        db.session.execute(insert(Signature.__table__), batch)
    db.session.commit()


def settle() -> None:
    """What autovacuum would have done by now on a live server: index-only scans work."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE signature")
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
        print("signatures  indexed count (ms)  cached count (ms)  ratio")
        filled = 0
        for size in SIZES:
            fill(petition.id, filled, size)
            filled = size
            settle()
            exact = median_ms(lambda: count_signatories(petition))
            cached = median_ms(lambda: public_counts(petition))
            print(f"{size:>10,}  {exact:>18.2f}  {cached:>17.4f}  {exact / cached:>6.0f}x")


if __name__ == "__main__":
    main()
