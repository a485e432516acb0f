"""Fixtures: a fresh app and database per test, captured mails, factories per state."""

import contextvars
import functools
import logging
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text

from petition import create_app, mail, moderation, signing
from petition.extensions import db
from petition.models import (
    EndorsementStatus,
    OrganizationType,
    OrganizerRole,
    Petition,
    PetitionStatus,
)
from petition.petitions import CallContent, write_call

LINK = re.compile(r"https?://\S+/(confirm|withdraw)/(\S+)")

# The suite runs on SQLite (a new file per test) unless TEST_DATABASE_URL names another
# database, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test; `make test` runs both.
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def database_url(tmp_path) -> str:
    """The database a test's app uses."""
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"


_server_schema_built = False


@functools.cache
def head_revision() -> str:
    """The newest migration: what create_all's schema corresponds to."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    directory = Path(signing.__file__).parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(directory))
    return ScriptDirectory.from_config(config).get_current_head()


def fresh_schema() -> None:
    """Empty tables for the current app: a new SQLite file, or the server's tables truncated.

    On a database server the schema is rebuilt once per test run, then emptied per test.
    create_all builds the migrations' schema (tests/test_migrations.py proves it), so the
    database is marked as migrated to the newest revision, as `init-db` would leave it.
    """
    global _server_schema_built
    if db.engine.dialect.name == "sqlite":
        db.create_all()
    elif not _server_schema_built:
        db.drop_all()
        db.create_all()
        _server_schema_built = True
    else:
        tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.execute(
        text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    )
    db.session.execute(
        text("INSERT INTO alembic_version VALUES (:head)"), {"head": head_revision()}
    )
    db.session.commit()


def pytest_report_header(config):
    return f"database: {TEST_DATABASE_URL or 'SQLite (a file per test)'}"


@pytest.fixture
def config(tmp_path):
    """Settings for a test app; a test may change them before `app` is built."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test secret key, not for production",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "petitions.example.org",
        "COUNTS_CACHE_SECONDS": 0,  # counts exact at once; test_public checks the cache
        "CAMPAIGN_CACHE_SECONDS": 0,
        "MIN_FORM_SECONDS": 0,  # tests fill forms at once; test_abuse checks the trap
    }


class IsolatedClient(FlaskClient):
    """Each request runs as in production: its own app context, `g` and database session.

    The test itself holds an app context; without this, requests would share it (and
    its `g` and session) with the test and with each other, hiding real bugs.
    """

    def open(self, *args, **kwargs):
        # Buffered, so streamed bodies are read inside the request's own context too
        # (the chunks stay separate in response.response).
        kwargs["buffered"] = True
        response = contextvars.Context().run(super().open, *args, **kwargs)
        mail.wait_for_senders()  # mails go out beside the response: let them land
        return response


@pytest.fixture
def app(config, tmp_path):
    app = create_app(config)
    app.test_client_class = IsolatedClient
    # Mails written without MAIL_SERVER, and anything else of the instance, stay in the test's.
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        fresh_schema()
        yield app
        mail.wait_for_senders()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_app(config, tmp_path):
    """More apps on the test's database (other workers or servers), closed after the test."""
    apps = []

    def make(**overrides):
        other = create_app({**config, **overrides})
        other.test_client_class = IsolatedClient
        other.instance_path = str(tmp_path / "instance")
        apps.append(other)
        return other

    yield make
    mail.wait_for_senders()
    for other in apps:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class MailBox(list):
    """Mails the service logged instead of sending (no MAIL_SERVER)."""

    def to(self, address: str) -> list:
        return [m for m in self if m["To"] == address]

    def links(self, message, kind: str = "confirm") -> list[str]:
        """The token of each link of a kind in a message."""
        return [token for k, token in LINK.findall(message.get_content()) if k == kind]


class _MailCatcher(logging.Handler):
    def __init__(self, box):
        super().__init__(logging.INFO)
        self.box = box

    def emit(self, record):
        if hasattr(record, "mail"):
            self.box.append(record.mail)


@pytest.fixture
def mails(app):
    box = MailBox()
    handler = _MailCatcher(box)
    logger = logging.getLogger("petition.mail")
    logger.addHandler(handler)
    yield box
    logger.removeHandler(handler)


@pytest.fixture
def make_petition(app):
    """Make a call; keyword arguments override the defaults."""
    counter = iter(range(1, 10_000))

    def make(**overrides):
        fields = {
            "slug": f"call-{next(counter)}",
            "title": "Open the borders",
            "summary": "A call for freedom of movement.",
            "body": "We call for **freedom of movement**.",
            "demands": ["Papers for all", "Close the camps"],
            "status": PetitionStatus.OPEN,
            "event_starts_at": datetime(2030, 10, 14, 14, 0, tzinfo=UTC),
            "event_timezone": "Europe/Paris",
            "event_place": "Place d’Armes",
            "event_address": "Place d’Armes, 62100 Calais, France",
        }
        fields.update(overrides)
        # A call in the database as the test's setting: written as any call is, without the
        # audit entry of a loaded content file (tests of the audit log see only their actions).
        petition = db.session.scalars(select(Petition).filter_by(slug=fields["slug"])).first()
        if petition is None:
            petition = Petition(slug=fields["slug"])
            db.session.add(petition)
        write_call(petition, CallContent(**fields))
        db.session.commit()
        return petition

    return make


@pytest.fixture
def petition(make_petition):
    return make_petition()


def signature_fields(**overrides) -> dict:
    """Valid fields for signing.sign / the individual form."""
    fields = {
        "full_name": "Amina Diallo",
        "email": "amina@example.org",
        "city": "Calais",
        "country": "FR",
        "affiliation": "",
        "show_publicly": True,
        "wants_updates": False,
    }
    fields.update(overrides)
    return fields


def endorsement_fields(**overrides) -> dict:
    """Valid fields for signing.endorse."""
    fields = {
        "organization": "Collectif Solidarité",
        "org_type": OrganizationType.COLLECTIVE,
        "country": "FR",
        "city": "Lille",
        "website": "https://solidarite.example.org",
        "contact_name": "Jean Martin",
        "contact_email": "jean@example.org",
        "contact_role": "Secretary",
        "show_publicly": True,
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def make_signature(app):
    """A signature in a given state: pending (default) or confirmed."""

    def make(petition, confirmed=False, **overrides):
        signature = signing.sign(petition, **signature_fields(**overrides))
        if confirmed:
            signing.confirm(signature)
        db.session.commit()
        return signature

    return make


@pytest.fixture
def make_endorsement(app, organizer):
    """An endorsement in a given state."""

    def make(petition, status=EndorsementStatus.PENDING, **overrides):
        endorsement = signing.endorse(petition, **endorsement_fields(**overrides))
        if status is not EndorsementStatus.PENDING:
            signing.confirm(endorsement)
        if status is EndorsementStatus.APPROVED:
            moderation.approve(endorsement, organizer)
        elif status is EndorsementStatus.REJECTED:
            moderation.reject(endorsement, organizer)
        db.session.commit()
        return endorsement

    return make


ORGANIZER_PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_organizer(app):
    """An organizer account: role "owner" or "organizer", working on the given calls."""
    from petition.auth import create_organizer

    def make(email="helper@example.org", role="organizer", petitions=(), password=None):
        account = create_organizer(email, password or ORGANIZER_PASSWORD, role=OrganizerRole(role))
        account.petitions.extend(petitions)
        db.session.commit()
        return account

    return make


@pytest.fixture
def organizer(make_organizer):
    """An owner: works on every call."""
    return make_organizer("organizer@example.org", role="owner")


def log_in(client, organizer, password=ORGANIZER_PASSWORD):
    """Log a client in as this organizer."""
    response = client.post(
        "/organizer/login", data={"email": organizer.email, "password": password}
    )
    assert response.status_code == 302, response.data
    return client


@pytest.fixture
def logged_in(client, organizer):
    """A client logged in as an owner."""
    return log_in(client, organizer)


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
