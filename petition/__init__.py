"""A petition and endorsement signing service for coalitions' calls."""

import logging
from pathlib import Path

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter

from . import logs
from .config import configure
from .extensions import babel, db, login_manager, migrate
from .petitions import SLUG_PATTERN


class SlugConverter(BaseConverter):
    """A call's slug in a URL: so `/p/<slug>.json` never reads as a slug."""

    regex = SLUG_PATTERN


def create_app(config: dict | None = None) -> Flask:
    """Build the application; nothing is created at import time."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    configure(app, config)
    if app.config["TRUSTED_PROXIES"]:
        # Trust exactly that many proxies' X-Forwarded-For/-Proto: more would let a
        # client forge its address past the rate limits.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.url_map.converters["slug"] = SlugConverter

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    _tune_sqlite(app)
    babel.init_app(app, locale_selector=_select_locale)
    app.after_request(_vary_on_language)
    # No context processor: it would load the user on every page, and with session
    # protection rewrite every visitor's session cookie. Templates get the lazy proxy.
    login_manager.init_app(app, add_context_processor=False)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    from . import auth  # noqa: F401 - registers the user loader
    from .cli import register_commands
    from .errors import register_error_handlers
    from .limits import init_rate_limits
    from .security import refuse_oversized_bodies, register_security_headers
    from .static_files import init_static_files
    from .views import (
        accounts,
        api,
        calls,
        exports,
        imports,
        moderation,
        organizer,
        public,
        share,
        sign,
    )
    from .views import auth as auth_views

    for blueprint in (
        public.bp,
        share.bp,
        sign.bp,
        api.bp,
        auth_views.bp,
        organizer.bp,
        calls.bp,
        moderation.bp,
        exports.bp,
        imports.bp,
        accounts.bp,
    ):
        app.register_blueprint(blueprint)
    refuse_oversized_bodies(app)  # before anything reads the body
    init_rate_limits(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_commands(app)
    init_static_files(app)
    _register_template_helpers(app)
    _log_mails_locally(app)
    logs.install(client_addresses=app.config["LOG_CLIENT_ADDRESSES"])
    return app


def _register_template_helpers(app: Flask) -> None:
    from flask_babel import get_locale
    from flask_login import current_user
    from flask_wtf.csrf import generate_csrf

    from .countries import country_name
    from .forms.fields import ORGANIZATION_TYPES
    from .languages import direction
    from .models import OrganizationType, utcnow
    from .petitions import render_markdown
    from .switches import signing_pause_notice
    from .times import day, hour, moment, zone_name
    from .views import content_lang, iso_datetime, isolate, keep_lang, reader_call_text

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["iso_datetime"] = iso_datetime
    app.jinja_env.filters["bdi"] = isolate
    # Every date and time shown to people: in the call's zone, named, without seconds.
    app.jinja_env.filters.update(moment=moment, day=day, hour=hour)
    app.jinja_env.globals.update(
        country_name=lambda code: country_name(code, str(get_locale() or "en")),
        org_type_label=lambda kind: ORGANIZATION_TYPES[OrganizationType(kind)],
        now=utcnow,
        get_locale=get_locale,
        direction=direction,
        zone_name=zone_name,
        csrf_token=generate_csrf,
        current_user=current_user,
        signing_pause_notice=signing_pause_notice,
        call_text=reader_call_text,
        content_lang=content_lang,
        keep_lang=keep_lang,
    )


LANGUAGE_COOKIE = "lang"


def _select_locale() -> str | None:
    """The language the visitor chose (the `lang` cookie), else their browser's, else English."""
    from flask import current_app, has_request_context

    if not has_request_context():  # commands and mails sent outside a request
        return None
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages)


def _vary_on_language(response):
    """Pages are in the language of the cookie or of Accept-Language: caches must key on both."""
    if response.mimetype == "text/html":
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


def _tune_sqlite(app: Flask) -> None:
    """WAL, a busy timeout, foreign keys and the chosen durability on every SQLite connection."""
    from sqlalchemy import event

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    synchronous = str(app.config["SQLITE_SYNCHRONOUS"]).upper()
    busy_timeout = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    if synchronous not in {"NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA, not {synchronous}")

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # A withdrawn signer's row is overwritten with zeros, not left in the file's free pages.
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.close()


def _log_mails_locally(app: Flask) -> None:
    """Without MAIL_SERVER, mails go to the log: make sure the log shows them."""
    logger = logging.getLogger("petition.mail")
    logger.setLevel(logging.INFO)
    if not app.config["MAIL_SERVER"] and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        logger.addHandler(handler)
