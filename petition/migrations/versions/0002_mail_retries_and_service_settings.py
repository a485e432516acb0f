"""mail retries and service settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 14:04:33.882024

"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_service_setting")),
    )
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_outgoing_mail_unsent"))
        batch_op.create_index("ix_outgoing_mail_due", ["sent_at", "next_attempt_at"], unique=False)
    # Mails queued before this revision are due at once.
    op.execute("UPDATE outgoing_mail SET next_attempt_at = created_at")
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.alter_column("next_attempt_at", existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_outgoing_mail_due")
        batch_op.create_index(
            batch_op.f("ix_outgoing_mail_unsent"), ["sent_at", "id"], unique=False
        )
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("next_attempt_at")
    op.drop_table("service_setting")
