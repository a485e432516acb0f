"""Migrations: they build exactly the models' schema, and bring older databases up to date."""

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, make_url, text

from petition import create_app, tally
from petition.cli import BASELINE_REVISION
from petition.extensions import db

from .conftest import TEST_DATABASE_URL
from .test_ids import NEVER_REUSED


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with no tables at all: a new SQLite file, or a new PostgreSQL database."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    server = make_url(TEST_DATABASE_URL)
    # Named after the test database: suites on other test databases run beside this one.
    name = f"{server.database}_migrations_check"
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


def _insert_call(connection, slug: str) -> int:
    return connection.execute(
        text(
            "INSERT INTO petition (slug, language, title, summary, body, status,"
            " collects_endorsements, signatures_withdrawn, endorsements_withdrawn,"
            " purged_individuals, purged_organizations, created_at, updated_at)"
            " VALUES (:slug, 'en', 'Old call', '', '', 'open', true, 0, 0, 0, 0,"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00') RETURNING id"
        ),
        {"slug": slug},
    ).scalar_one()


def _insert_signature(connection, petition_id: int, number: int, status: str) -> None:
    confirmed_at = None if status == "pending" else "2026-01-01 00:01:00"
    invalidated_at = "2026-01-02 00:00:00" if status == "invalid" else None
    connection.execute(
        text(
            "INSERT INTO signature (petition_id, full_name, email, email_normalized, city,"
            " country, show_publicly, wants_updates, will_attend, status, source, hidden,"
            " signed_at, confirmed_at, invalidated_at, consent_at, privacy_notice_version,"
            " token_key, mails_sent) VALUES (:petition_id, 'Early Signer', :email, :email,"
            " 'Calais', 'FR', true, false, false, :status, 'web', false, '2026-01-01 00:00:00',"
            " :confirmed_at, :invalidated_at, '2026-01-01 00:00:00', 'v1', :key, 1)"
        ),
        {
            "petition_id": petition_id,
            "email": f"s{number}@example.org",
            "status": status,
            "confirmed_at": confirmed_at,
            "invalidated_at": invalidated_at,
            "key": "0" * 32,
        },
    )


def _insert_endorsement(connection, petition_id: int, number: int, status: str) -> None:
    connection.execute(
        text(
            "INSERT INTO endorsement (petition_id, organization, org_type, country, city,"
            " contact_name, contact_email, contact_email_normalized, contact_role,"
            " show_publicly, status, endorsed_at, consent_at, privacy_notice_version,"
            " token_key, mails_sent) VALUES (:petition_id, 'Collectif', 'collective', 'FR',"
            " 'Lille', 'Jean', :email, :email, 'Secretary', true, :status,"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'v1', :key, 1)"
        ),
        {
            "petition_id": petition_id,
            "email": f"o{number}@example.org",
            "status": status,
            "key": "0" * 32,
        },
    )


def _counts_by_status(connection) -> dict[tuple[int, str, str], int]:
    rows = connection.execute(
        text(
            "SELECT petition_id, 'signature', status, COUNT(*) FROM signature"
            " GROUP BY petition_id, status UNION ALL"
            " SELECT petition_id, 'endorsement', status, COUNT(*) FROM endorsement"
            " GROUP BY petition_id, status"
        )
    )
    return {(call, kind, status): number for call, kind, status, number in rows}


def _tally(connection) -> dict[tuple[int, str, str], int]:
    rows = connection.execute(
        text(
            "SELECT petition_id, kind, status, SUM(n) FROM signatory_tally"
            " GROUP BY petition_id, kind, status HAVING SUM(n) <> 0"
        )
    )
    return {(call, kind, status): int(number) for call, kind, status, number in rows}


def test_the_tally_migration_counts_existing_rows_and_installs_the_triggers(empty_app):
    """0005 fills the tally from the rows already there; from then on the triggers keep it."""
    flask_migrate.upgrade(revision="0004")
    statuses = ["pending", "confirmed", "confirmed", "invalid"]
    with db.engine.begin() as connection:
        calls = [_insert_call(connection, "old-call"), _insert_call(connection, "other-call")]
        for number in range(40):
            petition_id = calls[number % 2]
            _insert_signature(connection, petition_id, number, statuses[number % 4])
        for number, status in enumerate(["pending", "awaiting_approval", "approved", "approved"]):
            _insert_endorsement(connection, calls[0], number, status)

    flask_migrate.upgrade()

    with db.engine.begin() as connection:
        assert tally.missing_triggers(connection) == set()
        expected = _counts_by_status(connection)
        assert expected[(calls[0], "signature", "confirmed")] == 10
        assert expected[(calls[0], "endorsement", "approved")] == 2
        assert _tally(connection) == expected
        connection.execute(
            text(
                "UPDATE signature SET status = 'invalid', invalidated_at = '2026-01-03 00:00:00'"
                " WHERE status = 'confirmed'"
            )
        )
        connection.execute(text("DELETE FROM endorsement WHERE status = 'approved'"))
        assert _tally(connection) == _counts_by_status(connection)


def test_the_head_has_the_tally_triggers_and_going_down_removes_them(empty_app):
    """A later batch migration rebuilding a counted table on SQLite would drop them."""
    flask_migrate.upgrade()
    with db.engine.connect() as connection:
        assert tally.missing_triggers(connection) == set()
    flask_migrate.downgrade(revision="0004")
    with db.engine.connect() as connection:
        assert tally.missing_triggers(connection) == tally.trigger_names()


def _insert_audit_entry(connection, action: str, subject: str) -> None:
    connection.execute(
        text(
            "INSERT INTO audit_entry (at, actor, action, subject, details)"
            " VALUES ('2026-01-05 00:00:00', 'organizer@example.org', :action, :subject, '{}')"
        ),
        {"action": action, "subject": subject},
    )


def _rows(connection, table: str) -> list[dict]:
    query = text(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 - the test's own names
    return [dict(row) for row in connection.execute(query).mappings()]


def _schema_besides_ids(table: str) -> tuple:
    """What the rebuild of a table must keep: its checks, indexes, keys and columns."""
    inspector = inspect(db.engine)
    return (
        sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table)),
        sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
        sorted(
            (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
        ),
        sorted(
            (f["name"], f["referred_table"], f["options"].get("ondelete"))
            for f in inspector.get_foreign_keys(table)
        ),
        [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
    )


def test_ids_are_not_given_twice_after_upgrading_a_database_with_data(empty_app):
    """0007 (AUTOINCREMENT on SQLite) keeps every row, the tally and its triggers, and the
    ids the audit log already names: even a withdrawn signature's stays unused."""
    flask_migrate.upgrade(revision="0006")
    statuses = ["pending", "confirmed", "confirmed", "invalid"]
    with db.engine.begin() as connection:
        calls = [_insert_call(connection, "old-call"), _insert_call(connection, "other-call")]
        for number in range(40):
            _insert_signature(connection, calls[number % 2], number, statuses[number % 4])
        for number, status in enumerate(["pending", "awaiting_approval", "approved", "rejected"]):
            _insert_endorsement(connection, calls[0], number, status)
        # The highest signature and endorsement were moderated, then withdrawn.
        hidden = connection.execute(text("SELECT MAX(id) FROM signature")).scalar_one()
        rejected = connection.execute(text("SELECT MAX(id) FROM endorsement")).scalar_one()
        _insert_audit_entry(connection, "hide", f"signature {hidden}")
        _insert_audit_entry(connection, "reject", f"endorsement {rejected}")
        connection.execute(text("DELETE FROM signature WHERE id = :id"), {"id": hidden})
        connection.execute(text("DELETE FROM endorsement WHERE id = :id"), {"id": rejected})
        before = {table: _rows(connection, table) for table in NEVER_REUSED}
        counts = _counts_by_status(connection)
    schema_before = {table: _schema_besides_ids(table) for table in NEVER_REUSED}

    flask_migrate.upgrade()

    assert schema_differences() == []
    assert {table: _schema_besides_ids(table) for table in NEVER_REUSED} == schema_before
    with db.engine.begin() as connection:
        assert {table: _rows(connection, table) for table in NEVER_REUSED} == before
        assert tally.missing_triggers(connection) == set()
        assert _tally(connection) == _counts_by_status(connection) == counts
        if connection.dialect.name == "sqlite":
            tables = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE :word"),
                {"word": "%AUTOINCREMENT%"},
            )
            assert set(tables.scalars()) == NEVER_REUSED

        _insert_signature(connection, calls[0], 100, "confirmed")
        _insert_endorsement(connection, calls[0], 100, "approved")
        assert connection.execute(text("SELECT MAX(id) FROM signature")).scalar_one() > hidden
        assert connection.execute(text("SELECT MAX(id) FROM endorsement")).scalar_one() > rejected
        new_call = _insert_call(connection, "new-call")
        assert new_call > max(calls)
        # The triggers count what changes after the upgrade.
        connection.execute(
            text(
                "UPDATE signature SET status = 'confirmed', confirmed_at = '2026-01-03 00:00:00'"
                " WHERE status = 'pending'"
            )
        )
        connection.execute(text("DELETE FROM endorsement WHERE status = 'awaiting_approval'"))
        assert _tally(connection) == _counts_by_status(connection)
        counts = _counts_by_status(connection)

    flask_migrate.downgrade(revision="0005")
    with db.engine.connect() as connection:
        assert tally.missing_triggers(connection) == set()
        assert _tally(connection) == _counts_by_status(connection) == counts
