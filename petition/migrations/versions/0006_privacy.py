"""privacy: mails given up for good, each submission's own details, a daily mail cap

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 22:00:00

"""

import sqlalchemy as sa
from alembic import op

from petition import tally

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(), nullable=True))
    for table in ("signature", "endorsement"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("mails_day", sa.Date(), nullable=True))
    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("endorsement_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(signature_id IS NULL) != (endorsement_id IS NULL)",
            name=op.f("ck_submission_one_record"),
        ),
        sa.ForeignKeyConstraint(
            ["endorsement_id"],
            ["endorsement.id"],
            name=op.f("fk_submission_endorsement_id_endorsement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signature.id"],
            name=op.f("fk_submission_signature_id_signature"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_endorsement_id"), ["endorsement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_submission_signature_id"), ["signature_id"], unique=False
        )


def downgrade():
    op.drop_table("submission")
    for table in ("signature", "endorsement"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("mails_day")
    if op.get_bind().dialect.name == "sqlite":
        # Dropping a column rebuilds the table on SQLite, and the tally's triggers go with it.
        for statement in tally.drop_statements("sqlite") + tally.create_statements("sqlite"):
            op.execute(statement)
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.drop_column("failed_at")
