"""Counts of signatures and endorsements per call and status, kept by the database itself.

Triggers on `signature` and `endorsement` add to and subtract from `signatory_tally` in
the transaction that changes a row, whatever changes it (signing, confirming, a
withdrawal, moderation's bulk UPDATE, an import, a purge, a call's cascade delete): no
code path can forget the count. Each (call, table, status) is spread over SHARDS rows by
the row's id, so concurrent confirmations update different rows instead of queueing on
one (the UK Parliament site's hot row); a reader SUMs a handful of rows whatever the
call's size. `flask recount` checks the tally against the rows.

The DDL lives here once: the models' metadata runs it after `create_all`, and migration
0005 runs it on existing databases. Two consequences for later migrations: changing the
DDL needs a migration that drops and creates it again, and a batch migration that
rebuilds `signature` or `endorsement` on SQLite drops their triggers with the old table,
so it must create them again (tests/test_migrations.py checks the head has them).

On PostgreSQL the triggers run once per statement, on the rows it changed. Change many
rows with multi-row statements (the import's INSERT ... RETURNING batches do), or commit
in batches: a hundred thousand single-row statements in one transaction update the same
tally rows as often, and their versions pile up until the commit (slower and slower).

This module does not import the models: migrations use it.
"""

from dataclasses import dataclass

from sqlalchemy import Connection, MetaData, bindparam, event, text

SHARDS = 16

# The counted tables; a tally row's `kind` is the name of the table it counts.
COUNTED_TABLES = ("signature", "endorsement")

_UPSERT = (
    "INSERT INTO signatory_tally (petition_id, kind, status, shard, n)"
    " VALUES ({row}.petition_id, '{table}', {row}.status, {row}.id % {shards}, {delta})"
    " ON CONFLICT (petition_id, kind, status, shard) DO UPDATE SET n = n + excluded.n;"
)


def _sqlite_triggers(table: str) -> list[str]:
    """Row triggers: SQLite has no statement triggers, and one writer at a time anyway."""

    def upsert(row: str, delta: int) -> str:
        return _UPSERT.format(row=row, table=table, shards=SHARDS, delta=delta)

    return [
        f"CREATE TRIGGER {table}_tally_insert AFTER INSERT ON {table} BEGIN {upsert('NEW', 1)} END",
        f"CREATE TRIGGER {table}_tally_update AFTER UPDATE OF status, petition_id ON {table}"
        " WHEN OLD.status IS NOT NEW.status OR OLD.petition_id IS NOT NEW.petition_id"
        f" BEGIN {upsert('OLD', -1)} {upsert('NEW', 1)} END",
        f"CREATE TRIGGER {table}_tally_delete AFTER DELETE ON {table}"
        f" BEGIN {upsert('OLD', -1)} END",
    ]


# PostgreSQL: statement triggers reading the statement's changed rows (transition
# tables), so a million-row import or a bulk UPDATE writes each tally row once, not once
# per row. Keys in order: concurrent statements lock the rows they share in one order.
_POSTGRESQL_CHANGES = {
    "insert": "SELECT petition_id, status, id, 1 AS delta FROM new_rows",
    "update": "SELECT petition_id, status, id, 1 AS delta FROM new_rows"
    " UNION ALL SELECT petition_id, status, id, -1 FROM old_rows",
    "delete": "SELECT petition_id, status, id, -1 AS delta FROM old_rows",
}
_POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION signatory_tally_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO signatory_tally AS tally (petition_id, kind, status, shard, n)
    SELECT petition_id, TG_TABLE_NAME, status, id % {shards}, sum(delta)
    FROM ({changes}) AS change
    GROUP BY petition_id, status, id % {shards}
    HAVING sum(delta) <> 0
    ORDER BY petition_id, status, id % {shards}
    ON CONFLICT (petition_id, kind, status, shard) DO UPDATE SET n = tally.n + excluded.n;
    RETURN NULL;
END $$
"""
_POSTGRESQL_TRANSITIONS = {
    "insert": "NEW TABLE AS new_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
}


def _postgresql_functions() -> list[str]:
    return [
        _POSTGRESQL_FUNCTION.format(event=event, changes=changes, shards=SHARDS)
        for event, changes in _POSTGRESQL_CHANGES.items()
    ]


def _postgresql_triggers(table: str) -> list[str]:
    # A trigger with transition tables takes no column list: every UPDATE fires it, and
    # one that changes no status or call adds nothing (HAVING).
    return [
        f"CREATE TRIGGER {table}_tally_{event} AFTER {event.upper()} ON {table}"
        f" REFERENCING {transitions} FOR EACH STATEMENT"
        f" EXECUTE FUNCTION signatory_tally_{event}()"
        for event, transitions in _POSTGRESQL_TRANSITIONS.items()
    ]


def create_statements(dialect: str) -> list[str]:
    """The DDL of the triggers (and PostgreSQL's functions), for an existing tally table."""
    if dialect == "sqlite":
        return [sql for table in COUNTED_TABLES for sql in _sqlite_triggers(table)]
    if dialect == "postgresql":
        triggers = [sql for table in COUNTED_TABLES for sql in _postgresql_triggers(table)]
        return _postgresql_functions() + triggers
    raise NotImplementedError(f"no tally triggers for {dialect}")


def drop_statements(dialect: str) -> list[str]:
    """The DDL that removes what create_statements made."""
    events = ("insert", "update", "delete")
    if dialect == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_tally_{event}"
            for table in COUNTED_TABLES
            for event in events
        ]
    triggers = [
        f"DROP TRIGGER IF EXISTS {table}_tally_{event} ON {table}"
        for table in COUNTED_TABLES
        for event in events
    ]
    return triggers + [f"DROP FUNCTION IF EXISTS signatory_tally_{event}()" for event in events]


def trigger_names() -> set[str]:
    """The names of the triggers create_statements makes."""
    return {
        f"{table}_tally_{event}"
        for table in COUNTED_TABLES
        for event in ("insert", "update", "delete")
    }


def missing_triggers(connection: Connection) -> set[str]:
    """The tally's triggers this database lacks (a batch migration on SQLite drops them)."""
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    return trigger_names() - set(connection.execute(text(query)).scalars())


def attach(metadata: MetaData) -> None:
    """Create the triggers when create_all has made the tables; drop the functions after drop_all.

    On the metadata rather than a table: the tables are all there by then, in any order.
    """

    @event.listens_for(metadata, "after_create")
    def _create(target, connection: Connection, **kw) -> None:
        for statement in create_statements(connection.dialect.name):
            connection.execute(text(statement))

    @event.listens_for(metadata, "after_drop")
    def _drop(target, connection: Connection, **kw) -> None:
        # Dropping the tables dropped their triggers; PostgreSQL's functions remain.
        for statement in drop_statements(connection.dialect.name):
            if statement.startswith("DROP FUNCTION"):
                connection.execute(text(statement))


# The SQL below is built from this module's constants only, never from input.
def _counted_rows(table: str, where: str) -> str:
    return (
        f"SELECT petition_id, '{table}' AS kind, status, id % {SHARDS} AS shard,"  # noqa: S608
        f" COUNT(*) AS n FROM {table} {where} GROUP BY petition_id, status, id % {SHARDS}"
    )


def fill(connection: Connection, petition_ids: list[int] | None = None) -> None:
    """Count the rows into an empty tally (of these calls only, if given)."""
    where = "WHERE petition_id IN :ids" if petition_ids is not None else ""
    for table in COUNTED_TABLES:
        statement = text(
            "INSERT INTO signatory_tally (petition_id, kind, status, shard, n) "
            + _counted_rows(table, where)
        )
        if petition_ids is not None:
            statement = statement.bindparams(_expanding_ids(petition_ids))
        connection.execute(statement)


@dataclass(frozen=True)
class Difference:
    """A count the tally holds that the rows do not bear out."""

    petition_id: int
    kind: str
    status: str
    counted: int
    tallied: int


def differences(connection: Connection, petition_id: int | None = None) -> list[Difference]:
    """Where the tally and a count of the rows disagree (one statement: one snapshot)."""
    where = "WHERE petition_id = :petition_id" if petition_id is not None else ""
    counted = " UNION ALL ".join(
        f"SELECT petition_id, kind, status, n AS counted, 0 AS tallied"  # noqa: S608
        f" FROM ({_counted_rows(table, where)}) AS rows_{table}"
        for table in COUNTED_TABLES
    )
    statement = text(
        "SELECT petition_id, kind, status, SUM(counted), SUM(tallied) FROM ("  # noqa: S608
        f"{counted} UNION ALL SELECT petition_id, kind, status, 0, n FROM signatory_tally {where}"
        ") AS both_sides GROUP BY petition_id, kind, status"
        " HAVING SUM(counted) <> SUM(tallied) ORDER BY petition_id, kind, status"
    )
    parameters = {"petition_id": petition_id} if petition_id is not None else {}
    return [
        Difference(petition_id, kind, status, int(counted), int(tallied))
        for petition_id, kind, status, counted, tallied in connection.execute(statement, parameters)
    ]


def recount(
    connection: Connection, petition_id: int | None = None, *, dry_run: bool = False
) -> list[Difference]:
    """Compare the tally with the rows (of one call, or all); unless dry_run, repair it."""
    found = differences(connection, petition_id)
    if found and not dry_run:
        repair(connection, sorted({difference.petition_id for difference in found}))
    return found


def repair(connection: Connection, petition_ids: list[int]) -> None:
    """Count these calls' tally again from their rows, while nobody changes those rows."""
    if connection.dialect.name == "postgresql":
        # Writers wait for the few seconds of the recount; readers do not.
        connection.execute(text("LOCK TABLE signature, endorsement IN SHARE MODE"))
    connection.execute(
        text("DELETE FROM signatory_tally WHERE petition_id IN :ids").bindparams(
            _expanding_ids(petition_ids)
        )
    )
    fill(connection, petition_ids)


def _expanding_ids(petition_ids: list[int]):
    return bindparam("ids", value=list(petition_ids), expanding=True)
