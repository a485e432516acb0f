"""ids never given twice: AUTOINCREMENT on SQLite for the tables whose ids are named elsewhere

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00

Without AUTOINCREMENT, SQLite gives the highest id of a deleted row (a withdrawn
signature) to the next row, and the audit log's "hide signature 27" then names someone
who was never hidden. SQLite cannot add AUTOINCREMENT to a table: each table is rebuilt
(batch mode copies every row with its id, keeps its constraints and indexes). Rebuilding
`signature` and `endorsement` drops the tally's triggers with the old tables; they are
created again, and the tally, untouched, still matches the rows copied.

PostgreSQL's identity and serial columns never go back: nothing to do there.
"""

from alembic import op
from sqlalchemy import text

from petition import tally

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Each table, and the word the audit log's subjects name its records by ("signature 27").
TABLES = {
    "petition": None,
    "signature": "signature",
    "endorsement": "endorsement",
    "organizer": "organizer",
    "export_manifest": "export",
}


def upgrade():
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    _rebuild(autoincrement=True)
    for table, word in TABLES.items():
        _never_below(connection, table, _highest_id_named(connection, table, word))


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(autoincrement=False)


def _rebuild(*, autoincrement: bool) -> None:
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
    # The rebuilt counted tables lost their triggers (IF EXISTS: whichever remain go too).
    for statement in tally.drop_statements("sqlite") + tally.create_statements("sqlite"):
        op.execute(statement)


def _highest_id_named(connection, table: str, word: str | None) -> int:
    """The highest id of the table's rows, or of the audit log's subjects naming its records:
    a record deleted before this upgrade keeps its id too, if the log names it."""
    query = f"SELECT COALESCE(MAX(id), 0) FROM {table}"  # noqa: S608 - TABLES' names only
    highest = connection.execute(text(query)).scalar_one()
    if word is None:
        return highest
    named = connection.execute(
        text(
            "SELECT COALESCE(MAX(CAST(substr(subject, length(:word) + 2) AS INTEGER)), 0)"
            " FROM audit_entry WHERE subject LIKE :prefix"
        ),
        {"word": word, "prefix": f"{word} %"},
    ).scalar_one()
    return max(highest, named)


def _never_below(connection, table: str, highest: int) -> None:
    """AUTOINCREMENT gives ids above sqlite_sequence's number for the table."""
    connection.execute(text("DELETE FROM sqlite_sequence WHERE name = :table"), {"table": table})
    if highest:
        connection.execute(
            text("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :highest)"),
            {"table": table, "highest": highest},
        )
