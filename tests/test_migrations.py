"""Migrations: they build exactly the models' schema, and bring older databases up to date."""

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, make_url, text

from petition import create_app
from petition.cli import BASELINE_REVISION
from petition.extensions import db

from .conftest import TEST_DATABASE_URL


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with no tables at all: a new SQLite file, or a new PostgreSQL database."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    server = make_url(TEST_DATABASE_URL)
    name = "petition_migrations_check"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def empty_app(empty_database_url):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": empty_database_url}
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrations_build_exactly_the_models_schema(empty_app):
    flask_migrate.upgrade()
    assert schema_differences() == []


def test_a_database_without_migrations_differs(empty_app):
    """The comparison can fail: an empty database is far from the models."""
    assert schema_differences() != []


def test_migrations_go_down_and_up_again(empty_app):
    flask_migrate.upgrade()
    flask_migrate.downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    flask_migrate.upgrade()
    assert schema_differences() == []


def test_init_db_brings_a_database_from_before_migrations_up_to_date(empty_app):
    """A database made by the first release (create_all, no alembic_version) keeps its data."""
    flask_migrate.upgrade(revision=BASELINE_REVISION)
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO petition (slug, title, summary, body, status, collects_endorsements,"
                " created_at, updated_at) VALUES ('old-call', 'Old call', '', '', 'open', true,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO signature (petition_id, full_name, email, email_normalized, city,"
                " country, show_publicly, wants_updates, status, signed_at, confirmed_at,"
                " consent_at, privacy_notice_version, token_key, mails_sent) VALUES"
                " (1, 'Early Signer', 'e@example.org', 'e@example.org', 'Calais', 'FR', true,"
                " false, 'confirmed', '2026-01-01 00:00:00', '2026-01-01 00:01:00',"
                " '2026-01-01 00:00:00', 'v1', :key, 1)"
            ),
            {"key": "0" * 32},
        )
    result = empty_app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert schema_differences() == []
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT full_name FROM signature")).scalar() == (
            "Early Signer"
        )
        slugs = set(connection.execute(text("SELECT slug FROM petition")).scalars())
    assert {"old-call", "cispm-calais-2016-10-14"} <= slugs
