"""Export memory stays flat: the CSV export of 100 thousand and of 1 million signatures.

    .venv/bin/python bench/export_memory.py                 # 100,000 and 1,000,000 rows
    .venv/bin/python bench/export_memory.py --rows 200000   # 20,000 and 200,000 rows

Fills a scratch SQLite database per size (in a temporary folder), then runs
`flask --app petition export` of every signature in a child process, the same code the
download streams through (filters, manifest, SHA-256, yield_per), writing to a file.
The child's peak resident memory comes from the kernel (wait4's ru_maxrss); the two
sizes side by side show whether memory grows with the rows. Not part of the test suite.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from petition import create_app
from petition.extensions import db
from petition.models import Petition, PetitionStatus, Signature, utcnow

COUNTRIES = ("FR", "DE", "BE", "IT", "ES", "PL", "GB", "NL")
BATCH = 20_000


def fill(url: str, rows: int) -> None:
    """A call with `rows` signatures, mostly confirmed, some with long names and formulas."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.create_all()
        petition = Petition(slug="bench", title="Bench", status=PetitionStatus.OPEN)
        db.session.add(petition)
        db.session.commit()
        now = utcnow()
        batch = []
        for n in range(rows):
            batch.append(
                {
                    "petition_id": petition.id,
                    "full_name": f"Signer Ünal-Þórsdóttir {n}" if n % 7 else f"=cmd|{n}",
                    "email": f"s{n}@example.org",
                    "email_normalized": f"s{n}@example.org",
                    "city": "Calais",
                    "country": COUNTRIES[n % len(COUNTRIES)],
                    "affiliation": "Collectif" if n % 3 == 0 else None,
                    "show_publicly": n % 2 == 0,
                    "wants_updates": n % 5 == 0,
                    "status": "confirmed",
                    "source": "web",
                    "hidden": False,
                    "signed_at": now,
                    "confirmed_at": now,
                    "consent_at": now,
                    "privacy_notice_version": "bench",
                    "token_key": f"{n:032x}",
                    "mails_sent": 1,
                }
            )
            if len(batch) == BATCH:
                # RETURNING makes it one INSERT per thousand rows: PostgreSQL's tally triggers run
                # per statement, and per-row statements in one transaction pile up tally versions.
                db.session.execute(insert(Signature.__table__).returning(Signature.id), batch).all()
                batch.clear()
        if batch:
            db.session.execute(insert(Signature.__table__).returning(Signature.id), batch).all()
        db.session.commit()
    with app.app_context():
        db.engine.dispose()


def child(url: str, output: str) -> None:
    """Run the export command in this process and print its time as JSON."""
    import resource

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    runner = app.test_cli_runner()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with app.app_context():  # as `flask` gives every command
        began = time.perf_counter()
        result = runner.invoke(args=["export", "bench", "-o", output])
        elapsed = time.perf_counter() - began
    if result.exit_code != 0:
        raise SystemExit(result.output)
    print(json.dumps({"seconds": elapsed, "rss_before_kib": before}))


def measure(url: str, output: Path) -> dict:
    """The export in a child process: its time, and its peak RSS from the kernel."""
    process = subprocess.Popen(  # noqa: S603 - our own script, with our own arguments
        [sys.executable, __file__, "--child", url, str(output)],
        stdout=subprocess.PIPE,
        text=True,
    )
    report = json.loads(process.stdout.read())
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"the export failed ({process.returncode})")
    report["peak_rss_kib"] = usage.ru_maxrss  # KiB on Linux
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="the larger size")
    parser.add_argument("--child", nargs=2, metavar=("URL", "OUTPUT"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(*arguments.child)
        return

    sizes = [max(arguments.rows // 10, 1), arguments.rows]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            url = f"sqlite:///{folder}/bench-{size}.sqlite3"
            began = time.perf_counter()
            fill(url, size)
            print(f"filled {size:,} rows in {time.perf_counter() - began:.0f} s", file=sys.stderr)
            output = Path(folder) / f"export-{size}.csv"
            report = measure(url, output)
            manifest = json.loads(Path(f"{output}.manifest.json").read_text())
            if manifest["row_count"] != size:
                raise SystemExit(f"the manifest counts {manifest['row_count']} rows, not {size}")
            report.update(rows=size, bytes=output.stat().st_size)
            results.append(report)

    print("rows        seconds   rows/s    file MiB  RSS at start MiB  peak RSS MiB")
    for r in results:
        print(
            f"{r['rows']:>10,}  {r['seconds']:>7.1f}  {r['rows'] / r['seconds']:>8,.0f}"
            f"  {r['bytes'] / 2**20:>8.1f}  {r['rss_before_kib'] / 1024:>16.1f}"
            f"  {r['peak_rss_kib'] / 1024:>12.1f}"
        )
    small, large = results
    print(
        f"rows x{large['rows'] / small['rows']:.0f}: peak RSS x"
        f"{large['peak_rss_kib'] / small['peak_rss_kib']:.2f}, growth "
        f"{(large['peak_rss_kib'] - small['peak_rss_kib']) / 1024:+.1f} MiB"
    )


if __name__ == "__main__":
    main()
