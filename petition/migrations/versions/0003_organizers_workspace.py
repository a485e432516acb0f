"""organizers' workspace: roles and rights, audit log, export manifests, moderation, retention

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:44:44.812145

"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade():
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["organizer.id"],
            name=op.f("fk_audit_entry_organizer_id_organizer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petition.id"],
            name=op.f("fk_audit_entry_petition_id_petition"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_entry_petition", ["petition_id", "at"], unique=False)

    op.create_table(
        "export_manifest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=True),
        sa.Column("organizer_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("who", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["organizer.id"],
            name=op.f("fk_export_manifest_organizer_id_organizer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petition.id"],
            name=op.f("fk_export_manifest_petition_id_petition"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_manifest")),
    )
    op.create_table(
        "petition_organizer",
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["organizer.id"],
            name=op.f("fk_petition_organizer_organizer_id_organizer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petition.id"],
            name=op.f("fk_petition_organizer_petition_id_petition"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("petition_id", "organizer_id", name=op.f("pk_petition_organizer")),
    )

    # Accounts made before roles existed ran every call: they become owners.
    with op.batch_alter_table("organizer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "role",
                _enum("organizerrole", "owner", "organizer"),
                nullable=False,
                server_default="owner",
            )
        )
        batch_op.add_column(sa.Column("session_key", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("invited_by_id", sa.Integer(), nullable=True))
        batch_op.alter_column("password_hash", existing_type=sa.VARCHAR(length=256), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_organizer_invited_by_id_organizer"),
            "organizer",
            ["invited_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    connection = op.get_bind()
    for (organizer_id,) in connection.execute(sa.text("SELECT id FROM organizer")).all():
        connection.execute(
            sa.text("UPDATE organizer SET session_key = :key WHERE id = :id"),
            {"key": secrets.token_hex(16), "id": organizer_id},
        )
    with op.batch_alter_table("organizer", schema=None) as batch_op:
        batch_op.alter_column("role", server_default=None)
        batch_op.alter_column("session_key", existing_type=sa.String(length=32), nullable=False)

    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        for name in (
            "signatures_withdrawn",
            "endorsements_withdrawn",
            "purged_individuals",
            "purged_organizations",
        ):
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("purge_after_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            "purge_after_days_positive", "purge_after_days IS NULL OR purge_after_days >= 0"
        )
    with op.batch_alter_table("petition", schema=None) as batch_op:
        for name in (
            "signatures_withdrawn",
            "endorsements_withdrawn",
            "purged_individuals",
            "purged_organizations",
        ):
            batch_op.alter_column(name, existing_type=sa.Integer(), server_default=None)

    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "source",
                _enum("signaturesource", "web", "paper", "import"),
                nullable=False,
                server_default="web",
            )
        )
        batch_op.add_column(
            sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("invalidated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("invalid_reason", sa.String(length=200), nullable=True))
        batch_op.alter_column("email", existing_type=sa.VARCHAR(length=254), nullable=True)
        batch_op.alter_column(
            "email_normalized", existing_type=sa.VARCHAR(length=254), nullable=True
        )
        batch_op.drop_constraint(op.f("ck_signature_signaturestatus"), type_="check")
        batch_op.create_check_constraint(
            "signaturestatus", "status IN ('pending', 'confirmed', 'invalid')"
        )
        batch_op.drop_constraint(op.f("ck_signature_confirmed_has_time"), type_="check")
        batch_op.create_check_constraint(
            "confirmed_has_time", "status != 'confirmed' OR confirmed_at IS NOT NULL"
        )
        batch_op.create_check_constraint(
            "pending_unconfirmed", "status != 'pending' OR confirmed_at IS NULL"
        )
        batch_op.create_check_constraint(
            "invalid_has_time", "(status = 'invalid') = (invalidated_at IS NOT NULL)"
        )
        batch_op.create_check_constraint(
            "email_normalized_with_email", "(email IS NULL) = (email_normalized IS NULL)"
        )
        batch_op.create_check_constraint("web_has_email", "source != 'web' OR email IS NOT NULL")
        batch_op.drop_index("ix_signature_public")
        batch_op.create_index(
            "ix_signature_public",
            ["petition_id", "status", "show_publicly", "hidden", "confirmed_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_signature_country", ["petition_id", "status", "country"], unique=False
        )
        batch_op.create_index("ix_signature_signed", ["petition_id", "signed_at"], unique=False)
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.alter_column("source", server_default=None)
        batch_op.alter_column("hidden", existing_type=sa.Boolean(), server_default=None)


def downgrade():
    # Signatures without an email address or marked invalid cannot go back: drop them.
    op.execute("DELETE FROM signature WHERE email IS NULL OR status = 'invalid'")
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_index("ix_signature_signed")
        batch_op.drop_index("ix_signature_country")
        batch_op.drop_index("ix_signature_public")
        batch_op.create_index(
            "ix_signature_public",
            ["petition_id", "status", "show_publicly", "confirmed_at"],
            unique=False,
        )
        for name in (
            "web_has_email",
            "email_normalized_with_email",
            "invalid_has_time",
            "pending_unconfirmed",
            "confirmed_has_time",
            "signaturestatus",
            "signaturesource",
        ):
            batch_op.drop_constraint(op.f(f"ck_signature_{name}"), type_="check")
        batch_op.create_check_constraint(
            "confirmed_has_time", "(status = 'confirmed') = (confirmed_at IS NOT NULL)"
        )
        batch_op.create_check_constraint("signaturestatus", "status IN ('pending', 'confirmed')")
        batch_op.alter_column(
            "email_normalized", existing_type=sa.VARCHAR(length=254), nullable=False
        )
        batch_op.alter_column("email", existing_type=sa.VARCHAR(length=254), nullable=False)
        batch_op.drop_column("invalid_reason")
        batch_op.drop_column("invalidated_at")
        batch_op.drop_column("hidden")
        batch_op.drop_column("source")

    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_petition_purge_after_days_positive"), type_="check")
        for name in (
            "purged_organizations",
            "purged_individuals",
            "purged_at",
            "purge_after_days",
            "endorsements_withdrawn",
            "signatures_withdrawn",
            "closed_at",
        ):
            batch_op.drop_column(name)

    op.execute("DELETE FROM organizer WHERE password_hash IS NULL")
    with op.batch_alter_table("organizer", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_organizer_invited_by_id_organizer"), type_="foreignkey"
        )
        batch_op.alter_column("password_hash", existing_type=sa.VARCHAR(length=256), nullable=False)
        batch_op.drop_constraint(op.f("ck_organizer_organizerrole"), type_="check")
        batch_op.drop_column("invited_by_id")
        batch_op.drop_column("session_key")
        batch_op.drop_column("role")

    op.drop_table("petition_organizer")
    op.drop_table("export_manifest")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_petition")
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
    op.drop_table("audit_entry")
