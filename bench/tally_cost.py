"""What the tally's triggers cost the writers: signing, confirming, a bulk import, a bulk UPDATE.

    .venv/bin/python -m bench.tally_cost                 # SQLite in a temporary file
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        .venv/bin/python -m bench.tally_cost

On a scratch database (it drops and recreates the tables of DATABASE_URL: never point it
at real data), with no triggers (the cost before the tally) and with the shipped ones in
turns, ROUNDS times, it times in-process, wall and CPU: `signing.sign` + commit and
`signing.confirm` + commit (medians of BENCH_SIGNS each), `flask import-signatures` of
BENCH_ROWS rows, and moderation's bulk invalidation and restoration of those rows; each
figure is the median of its rounds (a busy machine slows all variants alike). Every run
with triggers ends with `flask recount` finding nothing to repair. On PostgreSQL the CPU
is only this process's; so it also reads, from EXPLAIN ANALYZE, the time the server spends
in the triggers, for the shipped statement triggers and for row triggers (the alternative).
"""

import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete, text

from petition import create_app, moderation, signing, tally
from petition.extensions import db
from petition.models import Petition, Signature
from petition.moderation import SignatureCriteria
from petition.petitions import CallContent, save_call

SIGNS = int(os.environ.get("BENCH_SIGNS", "300"))
ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))

# The alternative on PostgreSQL: one upsert per changed row, only when a status or call
# changes (a row trigger may name its columns; a statement trigger may not).
ROW_TRIGGERS = [
    """
CREATE OR REPLACE FUNCTION bench_tally_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO signatory_tally AS t VALUES (OLD.petition_id, TG_TABLE_NAME, OLD.status,
            OLD.id % 16, -1) ON CONFLICT (petition_id, kind, status, shard)
            DO UPDATE SET n = t.n - 1;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO signatory_tally AS t VALUES (NEW.petition_id, TG_TABLE_NAME, NEW.status,
            NEW.id % 16, 1) ON CONFLICT (petition_id, kind, status, shard)
            DO UPDATE SET n = t.n + 1;
    END IF;
    RETURN NULL;
END $$
"""
] + [
    statement
    for table in tally.COUNTED_TABLES
    for statement in (
        f"CREATE TRIGGER {table}_tally_insert AFTER INSERT ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION bench_tally_row()",
        f"CREATE TRIGGER {table}_tally_update AFTER UPDATE OF status, petition_id ON {table}"
        " FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status"
        " OR OLD.petition_id IS DISTINCT FROM NEW.petition_id)"
        " EXECUTE FUNCTION bench_tally_row()",
        f"CREATE TRIGGER {table}_tally_delete AFTER DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION bench_tally_row()",
    )
]


def write_csv(path: Path, rows: int) -> None:
    """Rows of our import template, every tenth without an email (as on paper)."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["full_name", "email", "city", "country", "show_publicly", "signed_on"])
        for n in range(rows):
            email = "" if n % 10 == 0 else f"signer{n}@example.org"
            writer.writerow([f"Signer Number {n}", email, "Calais", "FR", "yes", "2024-05-01"])


def install(variant: str) -> None:
    """Replace the counted tables' triggers by a variant's; empty the tables."""
    dialect = db.engine.dialect.name
    for statement in tally.drop_statements(dialect):
        db.session.execute(text(statement))
    if dialect == "postgresql":
        db.session.execute(text("DROP FUNCTION IF EXISTS bench_tally_row()"))
    statements = {
        "none": [],
        "shipped": tally.create_statements(dialect),
        "row": ROW_TRIGGERS,
    }[variant]
    for statement in statements:
        db.session.execute(text(statement))
    for table in ("outgoing_mail", "signature", "audit_entry", "signatory_tally"):
        db.session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - our constants
    db.session.commit()
    if dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")


def median_ms(function, repeat: int) -> tuple[float, float]:
    """Median wall and CPU time of a call, after a tenth as many untimed calls (caches, WAL)."""
    for _ in range(repeat // 10):
        function()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def timed(function) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def run(app, petition_id: int, variant: str, csv_path: Path, round_: int) -> dict[str, float]:
    """One round of every measure with one variant's triggers: wall and CPU (this process)."""
    figures = {}
    with app.app_context():
        install(variant)
        petition = db.session.get(Petition, petition_id)
        numbers = iter(range(10**9))
        signatures = []

        def sign():
            number = next(numbers)
            signatures.append(
                signing.sign(
                    petition,
                    full_name="Bench Signer",
                    email=f"r{round_}-{number}@example.org",
                    city="Calais",
                    country="FR",
                )
            )
            db.session.commit()

        def confirm():
            signing.confirm(signatures.pop())
            db.session.commit()

        for name, function in (("sign + commit", sign), ("confirm + commit", confirm)):
            wall, cpu = median_ms(function, SIGNS)
            figures[f"{name}, wall (ms)"], figures[f"{name}, CPU (ms)"] = wall, cpu
        db.session.execute(delete(Signature))
        db.session.commit()
    runner = app.test_cli_runner()
    with app.app_context():
        result = None

        def import_rows():
            nonlocal result
            result = runner.invoke(args=["import-signatures", "bench", str(csv_path)])

        wall, cpu = timed(import_rows)
        figures[f"import {ROWS:,} rows, wall (s)"] = wall
        figures[f"import {ROWS:,} rows, CPU (s)"] = cpu
        if result.exit_code != 0:
            raise RuntimeError(result.output)
    with app.app_context():
        petition = db.session.get(Petition, petition_id)
        criteria = SignatureCriteria(domain="example.org")
        for name, action in (
            ("bulk invalidate", moderation.invalidate_matching),
            ("bulk restore", moderation.restore_matching),
        ):
            changed = 0

            def change(action=action):
                nonlocal changed
                changed = action(petition, criteria)
                db.session.commit()

            figures[f"{name}, wall (s)"], figures[f"{name}, CPU (s)"] = timed(change)
            if changed < ROWS * 0.8:
                raise RuntimeError(f"{name}: only {changed} rows changed")
        if variant != "none":
            result = runner.invoke(args=["recount"])
            if "match" not in result.output:
                raise RuntimeError(f"{variant}: {result.output}")
        db.engine.dispose()
    return figures


# Signatures made inside PostgreSQL: `rows` of them, addresses starting with `prefix`.
INSERT_SIGNATURES = (
    "INSERT INTO signature (petition_id, full_name, email, email_normalized, city, country,"
    " show_publicly, wants_updates, will_attend, status, source, hidden, signed_at, consent_at,"
    " privacy_notice_version, token_key, mails_sent) SELECT :call, 'Bench',"
    " '{prefix}' || n || '@example.net', '{prefix}' || n || '@example.net', 'Calais', 'FR',"
    " true, false, false, 'pending', 'web', false, now(), now(), 'bench', 'k', 1"
    " FROM generate_series(1, {rows}) AS n"
)

# Statements timed by EXPLAIN ANALYZE, which reports the time spent in each trigger.
EXPLAINED = {
    "1-row INSERT (signing)": INSERT_SIGNATURES.format(prefix="a", rows=1),
    "1-row UPDATE (confirming)": "UPDATE signature SET status = 'confirmed', confirmed_at = now()"
    " WHERE id = (SELECT min(id) FROM signature WHERE status = 'pending')",
    "1-row UPDATE of mails_sent": "UPDATE signature SET mails_sent = mails_sent + 1"
    " WHERE id = (SELECT max(id) FROM signature)",
    "1,000-row INSERT (an import batch)": INSERT_SIGNATURES.format(prefix="b", rows=1000),
    "UPDATE of 10,000 rows (bulk invalidation)": "UPDATE signature SET status = 'invalid',"
    " invalidated_at = now() WHERE id IN (SELECT id FROM signature ORDER BY id LIMIT 10000)",
    "DELETE of 10,000 rows (a purge)": "DELETE FROM signature"
    " WHERE id IN (SELECT id FROM signature ORDER BY id DESC LIMIT 10000)",
}


def explain(app, petition_id: int, variant: str) -> dict[str, float]:
    """Milliseconds PostgreSQL spends in the tally's triggers per statement (rolled back)."""
    figures = {}
    with app.app_context():
        install(variant)
        fill = INSERT_SIGNATURES.format(prefix="s", rows=20000)
        db.session.execute(text(fill), {"call": petition_id})
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE signature, signatory_tally")
        # Each trigger function is compiled at its first call in a connection: not timed.
        for warm_up in (
            INSERT_SIGNATURES.format(prefix="w", rows=1),
            EXPLAINED["1-row UPDATE (confirming)"],
            "DELETE FROM signature WHERE id = (SELECT max(id) FROM signature)",
        ):
            db.session.execute(text(warm_up), {"call": petition_id})
        for name, statement in EXPLAINED.items():
            plan = db.session.execute(
                text(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}"), {"call": petition_id}
            ).scalar_one()[0]
            triggers = plan.get("Triggers", [])
            in_triggers = sum(t["Time"] for t in triggers if "tally" in t["Trigger Name"])
            figures[f"{name}: in triggers (ms)"] = in_triggers
            figures[f"{name}: whole statement (ms)"] = plan["Execution Time"]
        db.session.rollback()
        db.engine.dispose()
    return figures


def table(title: str, rounds: dict[str, list[dict[str, float]]]) -> None:
    """Print each figure's median over the rounds, one column per variant."""
    variants = list(rounds)
    names = list(rounds[variants[0]][0])
    width = max(len(name) for name in names) + 2
    print(title)
    print(" " * width + "".join(f"{variant:>10}" for variant in variants))
    for name in names:
        cells = [statistics.median(r[name] for r in rounds[variant]) for variant in variants]
        print(f"{name:<{width}}" + "".join(f"{cell:>10.3f}" for cell in cells))


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="tally-bench-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{scratch / 'bench.sqlite3'}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench " * 8,
            "SERVER_NAME": "petitions.example.org",
            "MAIL_SEND_INLINE": False,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        petition, _ = save_call(CallContent(slug="bench", title="Bench", demands=["One"]))
        db.session.commit()
        petition_id = petition.id
        dialect = db.engine.dialect.name
    csv_path = scratch / "signatures.csv"
    write_csv(csv_path, ROWS)
    # Row triggers on PostgreSQL take minutes for a bulk UPDATE of 100,000 rows (each row
    # updates a tally row again in one transaction): only EXPLAIN measures them.
    variants = ["none", "shipped"]
    explained = variants + ["row"] if dialect == "postgresql" else []
    rounds: dict[str, list[dict[str, float]]] = {variant: [] for variant in variants}
    plans: dict[str, list[dict[str, float]]] = {variant: [] for variant in explained}
    for round_ in range(ROUNDS):
        turn = round_ % len(variants)  # each variant goes first in turn (cold caches)
        for variant in variants[turn:] + variants[:turn]:
            rounds[variant].append(run(app, petition_id, variant, csv_path, round_))
            print(f"round {round_ + 1} {variant}: {rounds[variant][-1]}", file=sys.stderr)
        for variant in explained:
            plans[variant].append(explain(app, petition_id, variant))
            print(f"round {round_ + 1} {variant}: {plans[variant][-1]}", file=sys.stderr)
    with app.app_context():
        install("shipped")
    table(f"{dialect}: medians of {ROUNDS} rounds, triggers: none / shipped", rounds)
    if plans:
        print()
        table("inside PostgreSQL (EXPLAIN ANALYZE, in a call of 20,000 rows)", plans)


if __name__ == "__main__":
    main()
