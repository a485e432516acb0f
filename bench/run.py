"""The benchmark: every figure a ratio to a baseline measured side by side in the same run.

    .venv/bin/python -m bench.run                       # SQLite, in a temporary directory
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench .venv/bin/python -m bench.run
    .venv/bin/python -m bench.run --quick               # tiny sizes, 2-second runs (smoke test)

It drops and recreates the tables of DATABASE_URL: never point it at real data. It fills the
database, starts gunicorn as production does (gunicorn.conf.py, several workers) with the
baselines of bench/app.py beside the service, drives it with wrk (bench/wrk.lua) from
separate processes, runs the export and import commands against the database's own CSV dump
and load, and prints a Markdown table. docs/BENCHMARKS.md says what each figure means.
"""

import argparse
import csv
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from petition import create_app  # noqa: E402
from petition.extensions import db  # noqa: E402
from petition.models import (  # noqa: E402
    OutgoingMail,
    Petition,
    PetitionStatus,
    Signature,
    utcnow,
)
from petition.petitions import load_shipped_calls  # noqa: E402
from petition.queries import count_signatories, petition_by_slug, public_signers  # noqa: E402

CALL = "cispm-calais-2016-10-14"  # the shipped call: the page and the form measured
BASELINE = "bench-baseline"  # where /_bench/insert puts its rows
IMPORTED = "bench-import"  # the call the bulk import fills
BIN = Path(sys.executable).parent
WRK_SCRIPT = ROOT / "bench" / "wrk.lua"
# The stored columns the export writes, in its order (its country_name is not stored).
EXPORT_COLUMNS = (
    "full_name, email, city, country, affiliation, show_publicly, wants_updates, "
    "will_attend, status, source, locale, signed_at, confirmed_at"
)
ROWS = (
    "sign",
    "page",
    "latency p50",
    "latency p99",
    "export",
    "export memory",
    "growth page",
    "growth counts",
    "growth signers",
    "bulk",
)


@dataclass
class Figure:
    """One row of the table."""

    name: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    passed: bool | None
    note: str = ""

    def cells(self) -> list[str]:
        """The row's cells, in the table's order."""
        if self.ratio is None:
            ratio = "—"
        else:  # small ratios keep a significant digit
            ratio = f"{self.ratio:.2f}" if self.ratio >= 0.1 else f"{self.ratio:.2g}"
        verdict = {True: "pass", False: "**miss**", None: "—"}[self.passed]
        return [self.name, self.measured, self.baseline, ratio, self.target, verdict]


# --- The database ---


def scratch_app(url: str, **config):
    """An in-process app on the benchmark's database (fills, checks, in-process timings)."""
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", **config})


def prepare(app) -> dict[str, int]:
    """Empty tables, the shipped call, and the two calls of the baselines; their ids."""
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS bench_bulk_load"))
        db.session.commit()
        db.create_all()
        load_shipped_calls()
        for slug in (BASELINE, IMPORTED):
            db.session.add(Petition(slug=slug, title=slug, status=PetitionStatus.OPEN))
        db.session.commit()
        ids = {
            slug: db.session.execute(petition_by_slug(slug)).scalar_one().id
            for slug in (CALL, BASELINE, IMPORTED)
        }
        db.engine.dispose()
    return ids


def insert_rows(batch: list[dict]) -> None:
    """One multi-row INSERT per thousand rows (RETURNING makes SQLAlchemy batch them).

    A plain executemany is one statement per row on psycopg: PostgreSQL's tally
    triggers would run per row, and in one transaction the tally's rows pile up versions.
    """
    db.session.execute(insert(Signature.__table__).returning(Signature.id), batch).all()


def fill(app, petition_id: int, start: int, stop: int) -> None:
    """Signatures start..stop-1, bulk inserted: 90 % confirmed, half of them public."""
    base = utcnow() - timedelta(days=30)
    with app.app_context():
        batch = []
        for n in range(start, stop):
            signed = base + timedelta(milliseconds=n)
            confirmed = n % 10 != 0
            batch.append(
                {
                    "petition_id": petition_id,
                    "full_name": f"Signer {n}",
                    "email": f"s{n}@example.org",
                    "email_normalized": f"s{n}@example.org",
                    "city": "Calais",
                    "country": "FR",
                    "show_publicly": n % 2 == 0,
                    "wants_updates": n % 3 == 0,
                    "hidden": False,
                    "status": "confirmed" if confirmed else "pending",
                    "source": "web",
                    "signed_at": signed,
                    "confirmed_at": signed + timedelta(minutes=5) if confirmed else None,
                    "consent_at": signed,
                    "privacy_notice_version": "bench",
                    "token_key": f"{n:032x}",
                    "mails_sent": 1,
                }
            )
            if len(batch) == 20000:
                insert_rows(batch)
                db.session.commit()
                batch.clear()
        if batch:
            insert_rows(batch)
        db.session.commit()
        settle()
        db.engine.dispose()


def settle() -> None:
    """What autovacuum / a DBA would have done by now: statistics, visibility map."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def signature_count(app, petition_id: int, email_like: str | None = None) -> int:
    """Rows of a call (whose address matches a LIKE pattern, if given)."""
    with app.app_context():
        query = select(func.count()).select_from(Signature).filter_by(petition_id=petition_id)
        if email_like:
            query = query.where(Signature.email.like(email_like))
        number = db.session.scalar(query)
        db.engine.dispose()
    return number


def outbox_count(app) -> int:
    """Mails waiting in the outbox."""
    with app.app_context():
        number = db.session.scalar(select(func.count()).select_from(OutgoingMail))
        db.engine.dispose()
    return number


def median_seconds(function, repeat: int) -> float:
    """Median wall time of a call, after one warm-up call."""
    function()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def growth_point(app, petition_id: int, repeat: int) -> dict[str, float]:
    """The call page's render time (counts cached as served), an uncached count, and the
    page of the public signers list holding its oldest signers."""
    client = app.test_client()

    def get(path: str):
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")

    with app.app_context():
        petition = db.session.get(Petition, petition_id)
        counts = median_seconds(lambda: count_signatories(petition), repeat)
        # The listed signer after whom the list's last page comes (the deepest page).
        oldest = (
            public_signers(petition)
            .with_only_columns(Signature.id)
            .order_by(None)
            .order_by(Signature.confirmed_at, Signature.id)
            .offset(app.config["PUBLIC_SIGNERS_PER_PAGE"])
            .limit(1)
        )
        anchor = db.session.scalar(oldest)  # None when the list fits on one page
        deepest = f"/p/{CALL}/signers" + (f"?before={anchor}" if anchor is not None else "")
        db.session.rollback()
        db.engine.dispose()
    return {
        "page": median_seconds(lambda: get(f"/p/{CALL}"), repeat),
        "counts": counts,
        "signers": median_seconds(lambda: get(deepest), repeat),
    }


# --- The server and the load ---


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    """gunicorn with the production settings and bench/app.py's baselines, once healthy."""
    server_env = {
        **env,
        "SERVER_NAME": "127.0.0.1",
        "RATELIMIT_ENABLED": "false",
        "FLASK_MIN_FORM_SECONDS": "0",
        "MAIL_SEND_INLINE": "false",  # the outbox row is measured, sending is not
        "ACCESS_LOG": "/dev/null",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
    }
    server = subprocess.Popen(  # noqa: S603 - our own server
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "bench.app:create_bench_app()"],
        cwd=ROOT,
        env=server_env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}): see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return server
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"gunicorn did not answer within 60 s: see {log}")


def stop_server(server: subprocess.Popen) -> None:
    """Stop gunicorn at once (SIGINT: the measurements are over) and wait for it."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


WRK_LINE = re.compile(r"BENCH (.*)")


def wrk(port: int, path: str, mode: str, tag: str, connections: int, seconds: float, threads: int):
    """One wrk run; its summary line as numbers."""
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds only
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPT),
        f"http://127.0.0.1:{port}{path}",
        "--",
        mode,
        tag,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    found = WRK_LINE.search(result.stdout)
    if result.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout}{result.stderr}")
    values = dict(pair.split("=") for pair in found.group(1).split())
    return {key: float(value) for key, value in values.items()}


def rate(runs: list[dict]) -> float:
    """Accepted answers per second over several runs."""
    return sum(r["accepted"] for r in runs) / sum(r["seconds"] for r in runs)


# --- Export and bulk load ---


def timed(command: list[str], env: dict, stdout=None) -> tuple[float, float, str]:
    """Run a command under /usr/bin/time: wall seconds, peak RSS in MB, its stderr."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        began = time.perf_counter()
        result = subprocess.run(  # noqa: S603 - our own commands
            ["/usr/bin/time", "-f", "%M", "-o", timing.name, *command],
            env=env,
            cwd=ROOT,
            stdout=stdout if stdout is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - began
        peak_kb = int(timing.read().split()[-1])
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr}")
    return elapsed, peak_kb / 1024, result.stderr


def psql_url(url: str) -> str:
    """The SQLAlchemy URL as libpq reads it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def sqlite_path(url: str) -> str:
    """The file of a sqlite:/// URL."""
    return url.removeprefix("sqlite:///")


def database_dump(url: str, petition_id: int, out: Path) -> float:
    """Seconds for the database's own CSV dump of the rows the export writes."""
    query = f"SELECT {EXPORT_COLUMNS} FROM signature WHERE petition_id = {petition_id} ORDER BY id"  # noqa: S608
    if url.startswith("sqlite"):
        command = ["sqlite3", "-csv", "-header", sqlite_path(url), query]
    else:
        command = [
            "psql",
            "-X",
            "-q",
            psql_url(url),
            "-c",
            f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)",
        ]
    with out.open("wb") as file:
        seconds, _, _ = timed(command, dict(os.environ), stdout=file)
    return seconds


def write_import_file(path: Path, rows: int) -> None:
    """Another tool's export: name, address, city, country; every address different."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["full_name", "email", "city", "country"])
        for n in range(rows):
            writer.writerow([f"Imported Signer {n}", f"i{n}@example.org", "Calais", "FR"])


def database_load(app, url: str, path: Path) -> float:
    """Seconds for the database's own bulk load of that CSV into a table of the same columns.

    The table carries the dedupe key (a unique address), as the import does.
    """
    with app.app_context():
        db.session.execute(text("DROP TABLE IF EXISTS bench_bulk_load"))
        db.session.execute(
            text(
                "CREATE TABLE bench_bulk_load (full_name VARCHAR(120) NOT NULL, "
                "email VARCHAR(254) NOT NULL UNIQUE, city VARCHAR(100) NOT NULL, "
                "country VARCHAR(2) NOT NULL)"
            )
        )
        db.session.commit()
        db.engine.dispose()
    if url.startswith("sqlite"):
        command = ["sqlite3", sqlite_path(url), f".import --csv --skip 1 {path} bench_bulk_load"]
    else:
        command = [
            "psql",
            "-X",
            "-q",
            psql_url(url),
            "-c",
            f"\\copy bench_bulk_load FROM '{path}' WITH (FORMAT csv, HEADER true)",
        ]
    seconds, _, _ = timed(command, dict(os.environ))
    return seconds


# --- The table ---


def verdict(ratio: float, target: float, at_least: bool) -> bool:
    """Whether a ratio meets its target."""
    return ratio >= target if at_least else ratio <= target


def machine() -> str:
    """One line about the machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f"{kb / 1024 / 1024:.0f} GB"
    except (OSError, StopIteration):
        memory = "?"
    return f"{os.cpu_count()} CPUs ({model}), {memory} RAM, Python {platform.python_version()}"


def table(figures: list[Figure]) -> str:
    """A Markdown table of the figures."""
    header = ["figure", "measured", "baseline (same run)", "ratio", "target", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(f.cells()) + " |" for f in figures]
    notes = [f"- {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def log(message: str) -> None:
    """Progress, on stderr: stdout holds the table."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- The run ---


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    options = parse_arguments(argv)
    if not options.commands_only and not shutil.which("wrk"):
        print("wrk is missing: `make bench` installs it (apt-get install wrk)", file=sys.stderr)
        return 2
    given = os.environ.get("DATABASE_URL")
    if given and "bench" not in given.rpartition("/")[2] and not options.force:
        print(
            "DATABASE_URL names a database without 'bench' in its name: the benchmark drops "
            "its tables. Use a scratch database (…/test_bench) or --force.",
            file=sys.stderr,
        )
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="petition-bench-"))
    url = given or f"sqlite:///{workdir}/bench.sqlite3"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    env.pop("PETITION_ENV", None)
    small, large = options.sizes[0], options.sizes[-1]
    app = scratch_app(url)
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    log(f"{database} at {url}; work files in {workdir}")

    ids = prepare(app)
    growth = {}
    filled = 0
    for size in sorted({small, large}):
        log(f"filling {CALL} to {size:,} signatures")
        began = time.perf_counter()
        fill(app, ids[CALL], filled, size)
        log(f"  {size - filled:,} rows in {time.perf_counter() - began:.1f} s")
        filled = size
        growth[size] = growth_point(scratch_app(url), ids[CALL], options.repeat)
        point = growth[size]
        log(
            f"  page {point['page'] * 1000:.2f} ms, count {point['counts'] * 1000:.2f} ms, "
            f"signers' last page {point['signers'] * 1000:.2f} ms"
        )

    sign_runs, insert_runs, page_runs, constant_runs = [], [], [], []
    if not options.commands_only:
        sign_runs, insert_runs, page_runs, constant_runs = serve_and_load(options, env, workdir)
        signed = sum(r["accepted"] for r in sign_runs)
        stored = signature_count(app, ids[CALL], "r%-%@example.org")
        if not signed or not stored:
            raise RuntimeError(f"no signature accepted (wrk {signed:.0f}, stored {stored})")
        log(
            f"sign: {signed:.0f} accepted by wrk, {stored} stored, {outbox_count(app)} mails queued"
        )

    export_rows = signature_count(app, ids[CALL])
    log(f"export of {export_rows:,} rows")
    export_file = workdir / "export.csv"
    export_seconds, export_mb, _ = timed(
        [
            str(BIN / "flask"),
            "--app",
            "petition",
            "export",
            CALL,
            "--all-statuses",
            "-o",
            str(export_file),
        ],
        env,
    )
    dump_seconds = database_dump(url, ids[CALL], workdir / "dump.csv")
    log(f"  export {export_seconds:.2f} s ({export_mb:.0f} MB), dump {dump_seconds:.2f} s")

    bulk = None
    # Another engineer's command: measured once it exists.
    if "import-signatures" in app.cli.commands and not options.skip_bulk:
        import_file = workdir / "import.csv"
        write_import_file(import_file, large)
        log(f"bulk import of {large:,} rows")
        import_seconds, import_mb, _ = timed(
            [
                str(BIN / "flask"),
                "--app",
                "petition",
                "import-signatures",
                IMPORTED,
                str(import_file),
                "--source",
                "import",
            ],
            env,
        )
        imported = signature_count(app, ids[IMPORTED])
        if imported != large:
            raise RuntimeError(f"the import stored {imported} of {large} rows")
        load_seconds = database_load(app, url, import_file)
        bulk = (import_seconds, import_mb, load_seconds)
        log(f"  import {import_seconds:.2f} s ({import_mb:.0f} MB), load {load_seconds:.2f} s")

    figures = build_figures(
        options, sign_runs, insert_runs, page_runs, constant_runs, growth, small, large,
        export_rows, export_seconds, export_mb, dump_seconds, bulk,
    )  # fmt: skip
    if options.commands_only:
        print(f"Database: {database}; commands only; sizes {small:,} / {large:,}")
    else:
        print(f"Database: {database}; gunicorn workers: {options.workers}; ", end="")
        print(f"wrk: {options.connections} connections, {options.threads} threads, ", end="")
        print(f"{options.rounds} × {options.duration} s per side; sizes {small:,} / {large:,}")
    print(f"Machine: {machine()}")
    print()
    print(table(figures))
    if options.json:
        Path(options.json).write_text(
            json.dumps([f.__dict__ for f in figures], indent=2, ensure_ascii=False) + "\n"
        )
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def serve_and_load(options, env: dict, workdir: Path) -> tuple[list, list, list, list]:
    """gunicorn driven by wrk, each side in turn: the runs of sign, bare insert, page, constant."""
    sign_runs, insert_runs, page_runs, constant_runs = [], [], [], []
    port = free_port()
    log(f"gunicorn on port {port} with {options.workers} workers")
    server = start_server(env, port, options.workers, workdir / "gunicorn.log")
    try:
        load = {"connections": options.connections, "threads": options.threads}
        sign_path, page_path = f"/p/{CALL}/sign", f"/p/{CALL}"
        if options.warmup:
            log("warm-up")
            for mode, path in (("sign", sign_path), ("insert", "/_bench/insert")):
                wrk(port, path, mode, "warm", seconds=options.warmup, **load)
            for path in (page_path, "/_bench/page"):
                wrk(port, path, "get", "warm", seconds=options.warmup, **load)
        for round_number in range(options.rounds):
            tag = f"r{round_number}"
            # Alternate which side goes first, so a drift in the machine's load hits both.
            pairs = [
                (insert_runs, "/_bench/insert", "insert"),
                (sign_runs, sign_path, "sign"),
                (constant_runs, "/_bench/page", "get"),
                (page_runs, page_path, "get"),
            ]
            if round_number % 2:
                pairs = [pairs[1], pairs[0], pairs[3], pairs[2]]
            for runs, path, mode in pairs:
                runs.append(wrk(port, path, mode, tag, seconds=options.duration, **load))
                last = runs[-1]
                log(
                    f"  {mode:6} {path}: {last['accepted'] / last['seconds']:.0f}/s, "
                    f"p50 {last['p50_us'] / 1000:.1f} ms, p99 {last['p99_us'] / 1000:.1f} ms, "
                    f"errors {last['errors']:.0f}"
                )
    finally:
        stop_server(server)
    return sign_runs, insert_runs, page_runs, constant_runs


def build_figures(
    options, sign_runs, insert_runs, page_runs, constant_runs, growth, small, large,
    export_rows, export_seconds, export_mb, dump_seconds, bulk,
) -> list[Figure]:  # fmt: skip
    """The table's rows from the measurements (without wrk's under --commands-only)."""
    figures = load_figures(options, sign_runs, insert_runs, page_runs, constant_runs, large)
    return figures + command_figures(
        growth, small, large, export_rows, export_seconds, export_mb, dump_seconds, bulk, options
    )


def load_figures(options, sign_runs, insert_runs, page_runs, constant_runs, large) -> list:
    """sign, page and the latencies, from wrk's runs (none under --commands-only)."""
    if not sign_runs:
        return []
    sign_rate, insert_rate = rate(sign_runs), rate(insert_runs)
    page_rate, constant_rate = rate(page_runs), rate(constant_runs)
    figures = [
        Figure(
            "sign",
            f"{sign_rate:.0f} signatures/s",
            f"{insert_rate:.0f} bare inserts/s",
            sign_rate / insert_rate,
            "≥ 0.7",
            verdict(sign_rate / insert_rate, 0.7, True),
        ),
        Figure(
            "page",
            f"{page_rate:.0f} pages/s at {large:,}",
            f"{constant_rate:.0f} constant pages/s",
            page_rate / constant_rate,
            "≥ 0.8",
            verdict(page_rate / constant_rate, 0.8, True),
        ),
    ]
    for name, key, target in (("latency p50", "p50_us", None), ("latency p99", "p99_us", 2.0)):
        measured = statistics.median(r[key] for r in sign_runs) / 1000
        baseline = statistics.median(r[key] for r in insert_runs) / 1000
        figures.append(
            Figure(
                name,
                f"{measured:.1f} ms signing",
                f"{baseline:.1f} ms bare insert",
                measured / baseline,
                f"≤ {target:g}×" if target else "(reported)",
                verdict(measured / baseline, target, False) if target else None,
                f"{options.connections} concurrent clients" if target else "",
            )
        )
    return figures


def command_figures(
    growth, small, large, export_rows, export_seconds, export_mb, dump_seconds, bulk, options
) -> list:
    """export, export memory, growth and bulk."""
    export_ratio = dump_seconds / export_seconds  # same rows: rows/s ratio = time ratio
    figures = [
        Figure(
            "export",
            f"{export_rows / export_seconds:,.0f} rows/s",
            f"{export_rows / dump_seconds:,.0f} rows/s database dump",
            export_ratio,
            "≥ 0.5",
            verdict(export_ratio, 0.5, True),
            f"{export_rows:,} rows, command wall time including start-up",
        ),
        Figure(
            "export memory",
            f"{export_mb:.0f} MB peak RSS",
            "—",
            None,
            "< 150 MB",
            export_mb < 150,
        ),
    ]
    for key, label in (
        ("page", "page render"),
        ("counts", "uncached count"),
        ("signers", "the public list's last page (not in the issue's table)"),
    ):
        ratio = growth[large][key] / growth[small][key]
        figures.append(
            Figure(
                f"growth {key}",
                f"{growth[large][key] * 1000:.2f} ms at {large:,}",
                f"{growth[small][key] * 1000:.2f} ms at {small:,}",
                ratio,
                "≤ 1.3",
                verdict(ratio, 1.3, False),
                f"{label}, median of {options.repeat} in-process",
            )
        )
    if bulk is None:
        figures.append(
            Figure("bulk", "pending: import command not available", "—", None, "≥ 0.3", None)
        )
    else:
        import_seconds, import_mb, load_seconds = bulk
        ratio = load_seconds / import_seconds
        figures.append(
            Figure(
                "bulk",
                f"{large / import_seconds:,.0f} rows/s import",
                f"{large / load_seconds:,.0f} rows/s database load",
                ratio,
                "≥ 0.3",
                verdict(ratio, 0.3, True),
                f"{large:,} rows; import peak RSS {import_mb:.0f} MB",
            )
        )
    return figures


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="10000,1000000",
        help="small,large signature counts (default 10000,1000000)",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="wrk runs per side")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per path")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) * 2 + 1)),
        help="gunicorn workers (default WEB_CONCURRENCY or 2 × CPUs + 1, as in production)",
    )
    parser.add_argument("--repeat", type=int, default=21, help="in-process timings per point")
    parser.add_argument("--skip-bulk", action="store_true", help="leave the import out")
    parser.add_argument(
        "--commands-only",
        action="store_true",
        help="no server nor wrk: only the export and import commands and the growth figures",
    )
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument(
        "--force", action="store_true", help="drop the tables of any DATABASE_URL, not only *bench*"
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and 2-second runs: the smoke test"
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.sizes = "100,1000"
        options.duration, options.rounds, options.warmup, options.repeat = 2, 1, 0, 5
        options.workers, options.connections = 2, 8
    options.sizes = sorted(int(n) for n in str(options.sizes).split(","))
    return options


if __name__ == "__main__":
    sys.exit(main())
