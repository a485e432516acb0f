"""counts kept by the database: the signatory tally and its triggers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 10:00:00

"""

import sqlalchemy as sa
from alembic import op

from petition import tally

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "signatory_tally",
        sa.Column("petition_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "petition_id", "kind", "status", "shard", name=op.f("pk_signatory_tally")
        ),
    )
    connection = op.get_bind()
    # Triggers first, then the count: on PostgreSQL creating a trigger locks out writers
    # until this transaction commits, so no signature slips between the two.
    for statement in tally.create_statements(connection.dialect.name):
        op.execute(statement)
    tally.fill(connection)


def downgrade():
    for statement in tally.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("signatory_tally")
