"""How fast `flask import-signatures` stores a generated CSV file, in rows per second.

    .venv/bin/python bench/import_rows.py         # 100,000 rows, SQLite in a temporary dir
    BENCH_ROWS=1000000 .venv/bin/python bench/import_rows.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        .venv/bin/python bench/import_rows.py

Builds a scratch database (it drops and recreates the tables of DATABASE_URL: never
point it at real data), writes a CSV of BENCH_ROWS rows of our template (every tenth
without an email, as on paper), runs the command through Flask's CLI runner (the
code path of `flask --app petition import-signatures`), and prints rows per second
CPU time (the wall time is misleading on a busy machine) and the process's peak memory.
"""

import csv
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from petition import create_app
from petition.extensions import db
from petition.imports import FIELDS
from petition.petitions import CallContent, save_call

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        # By name: the template's columns change (will_attend came in the middle).
        writer = csv.DictWriter(file, FIELDS, restval="", lineterminator="\r\n")
        writer.writeheader()
        for n in range(rows):
            email = "" if n % 10 == 0 else f"signer{n}@example.org"
            writer.writerow(
                {
                    "full_name": f"Signer Number {n}",
                    "email": email,
                    "city": "Calais",
                    "country": "FR",
                    "show_publicly": "yes",
                    "wants_updates": "no",
                    "signed_on": "2024-05-01",
                }
            )


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="import-bench-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{scratch / 'bench.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench " * 8})
    with app.app_context():
        db.drop_all()
        db.create_all()
        petition, _ = save_call(CallContent(slug="bench", title="Bench", demands=["One"]))
        db.session.commit()
    path = scratch / "signatures.csv"
    write_csv(path, ROWS)
    size = path.stat().st_size
    runner = app.test_cli_runner()
    # `flask` pushes an app context before running a command; the test runner does not.
    with app.app_context():
        started, cpu_started = time.perf_counter(), time.process_time()
        result = runner.invoke(args=["import-signatures", "bench", str(path)])
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if result.exit_code != 0:
        print(result.output, result.exception, file=sys.stderr)
        sys.exit(1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(result.output.strip())
    print(
        f"{url.partition(':')[0]}: {ROWS:,} rows "
        f"({size / 1e6:.1f} MB) in {elapsed:.1f} s = {ROWS / elapsed:,.0f} rows/s; "
        f"CPU {cpu:.1f} s ({ROWS / cpu:,.0f} rows per CPU second); peak memory {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
