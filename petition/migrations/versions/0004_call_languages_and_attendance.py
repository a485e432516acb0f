"""a call in several languages; signers who will attend the rally

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 18:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    # Calls written before this revision were written in English.
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=16), nullable=False, server_default="en")
        )
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.alter_column("language", existing_type=sa.String(length=16), server_default=None)

    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("will_attend", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.alter_column("will_attend", existing_type=sa.Boolean(), server_default=None)

    op.create_table(
        "petition_translation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petition.id"],
            name=op.f("fk_petition_translation_petition_id_petition"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_petition_translation")),
        sa.UniqueConstraint(
            "petition_id", "language", name=op.f("uq_petition_translation_petition_id_language")
        ),
    )
    op.create_table(
        "demand_translation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["demand.id"],
            name=op.f("fk_demand_translation_demand_id_demand"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_translation")),
        sa.UniqueConstraint(
            "demand_id", "language", name=op.f("uq_demand_translation_demand_id_language")
        ),
    )


def downgrade():
    op.drop_table("demand_translation")
    op.drop_table("petition_translation")
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_column("will_attend")
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.drop_column("language")
