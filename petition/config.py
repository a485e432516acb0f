"""Configuration: safe defaults, then the documented environment variables."""

import os
import secrets
import tempfile
from pathlib import Path

from flask import Flask

DEFAULTS = {
    # Signing forms are small: anything bigger is not a signature.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_PARTS": 100,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # FULL: an acknowledged signature survives power loss, not only a process crash.
    "SQLITE_SYNCHRONOUS": "FULL",
    "SQLITE_BUSY_TIMEOUT_MS": 5000,
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_USE_STARTTLS": False,
    "MAIL_TIMEOUT": 10,
    "MAIL_DEFAULT_SENDER": "petitions@localhost",
    "MAILS_PER_SIGNATURE": 5,
    # Send a request's mails right after its response (simple runs); false when a
    # `flask mail send --forever` process does it (production).
    "MAIL_SEND_INLINE": True,
    "MAIL_RETRY_SECONDS": 30,
    # A mail still failing this long after it was queued is given up (marked failed).
    "MAIL_GIVE_UP_HOURS": 72,
    "EMAIL_CHECK_DELIVERABILITY": False,
    # Throwaway-mail domains to refuse beside the package's list, or to accept despite it.
    "DISPOSABLE_EMAIL_DOMAINS_BLOCK": "",
    "DISPOSABLE_EMAIL_DOMAINS_ALLOW": "",
    "CONFIRM_TOKEN_MAX_AGE": 14 * 24 * 3600,
    "INVITATION_MAX_AGE": 7 * 24 * 3600,
    # `flask purge` deletes signatures still unconfirmed after this many days.
    "PURGE_UNCONFIRMED_DAYS": 30,
    # One upload of signatures collected on paper or moved from another tool (the
    # `import-signatures` command has no limit).
    "IMPORT_MAX_BYTES": 5 * 1024 * 1024,
    "IMPORT_MAX_ROWS": 50_000,
    "PRIVACY_NOTICE_VERSION": "2026-11-28",
    "PUBLIC_SIGNERS_PER_PAGE": 50,
    # The hash of the network address a signature came from is erased after this many days.
    "ORIGIN_DAYS": 7,
    # Public figures by country show a country from this many signatures; the rest grouped.
    "PUBLIC_COUNTRY_MINIMUM": 5,
    # Public counts are at most this old (per server process).
    "COUNTS_CACHE_SECONDS": 5,
    # A pause of signing reaches every server process within this delay.
    "SWITCH_CACHE_SECONDS": 2,
    # The workspace's campaign figures (by day, by country) are at most this old.
    "CAMPAIGN_CACHE_SECONDS": 60,
    # A signing form sent sooner than this after it was served looks automated (0: off).
    "MIN_FORM_SECONDS": 3,
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_DEFAULT_TIMEZONE": "UTC",
    # The interface languages; catalogues in petition/translations (see the README).
    "LANGUAGES": ["en", "fr", "ar"],
    "BABEL_TRANSLATION_DIRECTORIES": "translations",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": 6 * 3600,
    # Per client address (and per call for the signing forms). A whole rally or a mobile
    # network can share one address: keep them generous.
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    # Redis down: count in each process's memory meanwhile, never refuse signatures for it.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    "RATELIMIT_SIGN": "20 per minute;300 per hour",
    "RATELIMIT_ENDORSE": "10 per minute;100 per hour",
    "RATELIMIT_LOGIN": "10 per minute;50 per hour",
    # How many proxies (nginx, a load balancer) stand in front and set X-Forwarded-*.
    "TRUSTED_PROXIES": 0,
    # Client addresses in the access logs and rate-limit lines: off, a line tying an
    # address to a call's signing route records who signed what (petition/logs.py).
    "LOG_CLIENT_ADDRESSES": False,
}

# Documented variables, read without a prefix; anything else as FLASK_<NAME>.
ENVIRONMENT = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "MAIL_SERVER": "MAIL_SERVER",
    "MAIL_PORT": "MAIL_PORT",
    "MAIL_USERNAME": "MAIL_USERNAME",
    "MAIL_PASSWORD": "MAIL_PASSWORD",
    "MAIL_USE_STARTTLS": "MAIL_USE_STARTTLS",
    "MAIL_DEFAULT_SENDER": "MAIL_DEFAULT_SENDER",
    "MAIL_SEND_INLINE": "MAIL_SEND_INLINE",
    "EMAIL_CHECK_DELIVERABILITY": "EMAIL_CHECK_DELIVERABILITY",
    "SERVER_NAME": "SERVER_NAME",
    "RATELIMIT_ENABLED": "RATELIMIT_ENABLED",
    "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "TRUSTED_PROXIES": "TRUSTED_PROXIES",
    "SESSION_COOKIE_SECURE": "SESSION_COOKIE_SECURE",
    "PETITION_ENV": "PETITION_ENV",
    "PREFERRED_URL_SCHEME": "PREFERRED_URL_SCHEME",
    "LOG_CLIENT_ADDRESSES": "LOG_CLIENT_ADDRESSES",
}
INTEGERS = {"MAIL_PORT", "TRUSTED_PROXIES"}
BOOLEANS = {
    "MAIL_USE_STARTTLS",
    "EMAIL_CHECK_DELIVERABILITY",
    "MAIL_SEND_INLINE",
    "RATELIMIT_ENABLED",
    "SESSION_COOKIE_SECURE",
    "LOG_CLIENT_ADDRESSES",
}


def configure(app: Flask, overrides: dict | None) -> None:
    """Fill app.config from defaults, the environment, then explicit overrides."""
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env()
    for variable, key in ENVIRONMENT.items():
        if (value := os.environ.get(variable)) is not None:
            app.config[key] = _parse(key, value)
    app.config.update(overrides or {})
    # Test each pooled connection before use: after a database restart or a network cut,
    # a worker's stale connections would otherwise answer the next people with a 503.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "pool_pre_ping": True,
        # A database error's message never quotes the values sent (a signer's name and
        # address): logs are personal data.
        "hide_parameters": True,
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }

    # Mailed links are built from the request's host unless SERVER_NAME fixes it; with it
    # set, requests for any other Host header are refused so no one can make us mail
    # links to their own site.
    if app.config.get("SERVER_NAME") and app.config.get("TRUSTED_HOSTS") is None:
        app.config["TRUSTED_HOSTS"] = [app.config["SERVER_NAME"].partition(":")[0]]

    if app.config.get("PREFERRED_URL_SCHEME") == "https":
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    if app.config.get("PETITION_ENV") == "production":
        # Every server must sign sessions and mailed links with the same key, and mail
        # links to the same public address: nothing may come from one server's disk.
        for required in ("SECRET_KEY", "SERVER_NAME"):
            if not app.config.get(required):
                raise RuntimeError(f"{required} must be set when PETITION_ENV=production")

    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'petition.sqlite3'}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(instance)


def _parse(key: str, value: str) -> object:
    if key in INTEGERS:
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{key} must be a whole number, not {value!r}") from None
    if key in BOOLEANS:
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return value


def _instance_secret_key(instance: Path) -> str:
    """Generate the key once and keep it, so sessions and mailed links survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        # Written aside, then linked into place: a process starting at the same moment
        # sees either no file or a whole key, and the first link wins.
        fd, draft = tempfile.mkstemp(dir=instance, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32))
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key: delete it to generate a new one")
    return key
