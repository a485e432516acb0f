"""Configuration: the instance secret key, the default database, environment, SQLite PRAGMAs."""

import os
import stat

import pytest
from flask import Flask
from sqlalchemy import text

from petition import config as config_module
from petition import create_app
from petition.config import ENVIRONMENT, _instance_secret_key
from petition.extensions import db


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """Every app built in the test gets this instance folder, and a clean environment."""
    folder = tmp_path / "instance"
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(folder))
    for variable in list(os.environ):
        if variable in ENVIRONMENT or variable.startswith("FLASK_"):
            monkeypatch.delenv(variable)
    return folder


@pytest.fixture
def build():
    """Build apps from settings; their database engines are closed after the test."""
    apps = []

    def make(settings: dict | None = None) -> Flask:
        app = create_app({"TESTING": True, **(settings or {})})
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def pragma(name: str):
    return db.session.execute(text(f"PRAGMA {name}")).scalar()


# The secret key


def test_missing_secret_key_is_generated_and_kept_private(instance, build):
    """Without SECRET_KEY the app makes one and writes it, readable by its owner only."""
    app = build()

    key = app.config["SECRET_KEY"]
    path = instance / "secret_key"
    assert len(key) == 64
    int(key, 16)  # hexadecimal
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_generated_secret_key_survives_a_restart(instance, build):
    """A second app on the same instance folder reads the same key."""
    first = build().config["SECRET_KEY"]

    second = build().config["SECRET_KEY"]

    assert second == first
    assert list(instance.glob("secret_key*")) == [instance / "secret_key"]


def test_each_instance_folder_gets_its_own_key(instance, build, tmp_path, monkeypatch):
    """Two instance folders do not share a key."""
    first = build().config["SECRET_KEY"]
    other = tmp_path / "other-instance"
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(other))

    second = build().config["SECRET_KEY"]

    assert second != first
    assert (other / "secret_key").read_text().strip() == second


def test_given_secret_key_is_used_and_no_file_is_written(instance, build):
    """An explicit SECRET_KEY wins and nothing is written for it."""
    app = build({"SECRET_KEY": "given key", "SQLALCHEMY_DATABASE_URI": "sqlite://"})

    assert app.config["SECRET_KEY"] == "given key"
    assert not (instance / "secret_key").exists()


def test_secret_key_from_the_environment(instance, build, monkeypatch):
    """SECRET_KEY is read from the environment."""
    monkeypatch.setenv("SECRET_KEY", "from the environment")

    assert build().config["SECRET_KEY"] == "from the environment"
    assert not (instance / "secret_key").exists()


def test_instance_secret_key_helper(tmp_path):
    """The helper creates the folder and the file once, mode 0600, then reads it back."""
    folder = tmp_path / "deep" / "instance"

    key = _instance_secret_key(folder)

    path = folder / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _instance_secret_key(folder) == key
    assert path.read_text() == key


def test_configure_calls_the_helper_only_without_a_key(instance, build, monkeypatch):
    """configure asks for the instance key when none is set, with the app's instance folder."""
    calls = []

    def fake(folder):
        calls.append(folder)
        return "key from the helper"

    monkeypatch.setattr(config_module, "_instance_secret_key", fake)

    assert build().config["SECRET_KEY"] == "key from the helper"
    assert calls == [instance]
    build({"SECRET_KEY": "explicit"})
    assert calls == [instance]


# The database


def test_default_database_is_sqlite_in_the_instance_folder(instance, build):
    """Without DATABASE_URL the database is a SQLite file in the instance folder."""
    app = build()

    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'petition.sqlite3'}"
    with app.app_context():
        db.create_all()
    assert (instance / "petition.sqlite3").is_file()


def test_environment_variables_are_read(instance, build, monkeypatch, tmp_path):
    """DATABASE_URL, MAIL_SERVER, MAIL_PORT (a number) and EMAIL_CHECK_DELIVERABILITY are read."""
    database = tmp_path / "from-env.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("EMAIL_CHECK_DELIVERABILITY", "true")

    app = build()

    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{database}"
    assert app.config["MAIL_SERVER"] == "smtp.example.org"
    assert app.config["MAIL_PORT"] == 587
    assert app.config["EMAIL_CHECK_DELIVERABILITY"] is True
    assert not (instance / "petition.sqlite3").exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        (" Yes ", True),
        ("ON", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("", False),
    ],
)
def test_boolean_environment_variables(instance, build, monkeypatch, value, expected):
    """Booleans read from the environment are real booleans."""
    monkeypatch.setenv("EMAIL_CHECK_DELIVERABILITY", value)

    assert build().config["EMAIL_CHECK_DELIVERABILITY"] is expected


def test_defaults_without_environment(instance, build):
    """Without the variables: no mail server, port 25, no deliverability check."""
    app = build()

    assert app.config["MAIL_SERVER"] is None
    assert app.config["MAIL_PORT"] == 25
    assert app.config["EMAIL_CHECK_DELIVERABILITY"] is False


def test_explicit_settings_beat_the_environment(instance, build, monkeypatch):
    """Settings given to create_app override the environment."""
    monkeypatch.setenv("MAIL_PORT", "587")

    assert build({"MAIL_PORT": 2525}).config["MAIL_PORT"] == 2525


def test_non_numeric_mail_port_is_refused(instance, build, monkeypatch):
    """MAIL_PORT must be a number."""
    monkeypatch.setenv("MAIL_PORT", "smtp")

    with pytest.raises(ValueError, match="smtp"):
        build()


# SQLite connections


def test_every_sqlite_connection_is_tuned(config, build, tmp_path):
    """WAL, foreign keys, a 5 s busy timeout and FULL synchronous, on each connection."""
    app = build({**config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'tuned.db'}"})
    with app.app_context():
        check_sqlite_pragmas()


def check_sqlite_pragmas():
    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == 5000
    assert pragma("synchronous") == 2

    with db.engine.connect() as first, db.engine.connect() as second:
        assert first.connection.dbapi_connection is not second.connection.dbapi_connection
        for connection in (first, second):
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2


@pytest.mark.parametrize(
    ("level", "number"), [("NORMAL", 1), ("FULL", 2), ("EXTRA", 3), ("full", 2)]
)
def test_sqlite_synchronous_setting(config, build, tmp_path, level, number):
    """SQLITE_SYNCHRONOUS chooses the durability level."""
    app = build(
        {
            **config,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'sync.db'}",
            "SQLITE_SYNCHRONOUS": level,
            "SQLITE_BUSY_TIMEOUT_MS": 1234,
        }
    )

    with app.app_context():
        assert pragma("synchronous") == number
        assert pragma("busy_timeout") == 1234


@pytest.mark.parametrize("level", ["OFF", "0", "FULL; DROP TABLE signature"])
def test_invalid_sqlite_synchronous_is_refused_at_start_up(config, tmp_path, level):
    """Anything but NORMAL, FULL or EXTRA stops the app from starting."""
    sqlite = f"sqlite:///{tmp_path / 'refused.db'}"
    with pytest.raises(ValueError, match="SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA"):
        create_app({**config, "SQLALCHEMY_DATABASE_URI": sqlite, "SQLITE_SYNCHRONOUS": level})


def test_an_empty_key_file_stops_the_start_up(tmp_path):
    """A truncated key file is an error to fix, never an empty key."""
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(RuntimeError, match="holds no usable key"):
        _instance_secret_key(tmp_path)


def test_a_bad_mail_port_names_the_setting(config, monkeypatch):
    """MAIL_PORT=abc is refused with a message that names it."""
    monkeypatch.setenv("MAIL_PORT", "abc")
    with pytest.raises(ValueError, match="MAIL_PORT must be a whole number"):
        create_app(config)
