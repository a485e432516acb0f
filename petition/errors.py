"""Domain errors, and the error pages every failure ends on."""

from flask import Flask, has_request_context, jsonify, render_template, request
from flask.globals import request_ctx
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from .extensions import db


class DomainError(Exception):
    """A rule of the service refused an action."""


class PetitionClosed(DomainError):
    """The call no longer takes signatures."""


class SigningPaused(DomainError):
    """Organizers paused all signing (an attack, maintenance); the notice says why."""


class EndorsementsNotCollected(DomainError):
    """The call takes signatures from individuals only."""


class InvalidToken(DomainError):
    """A mailed link was forged, tampered with, or its signature no longer exists."""


class ExpiredToken(InvalidToken):
    """A mailed link is genuine but too old."""


class InvalidTransition(DomainError):
    """The record is not in a state that allows this change."""


def register_error_handlers(app: Flask) -> None:
    """Render every HTTP error, and every unexpected one, with the same page."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if has_request_context() and request_ctx.url_adapter is None:
            # An untrusted Host header: no URL can be built, so no page with links.
            return f"{error.code} {error.name}", error.code, {"Content-Type": "text/plain"}
        return error_page(error)

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        # The database is down or overloaded: nothing was acknowledged, try again soon.
        db.session.rollback()
        app.logger.error("database unavailable: %s", error.orig)
        return error_page(ServiceUnavailable(), {"Retry-After": "30"})

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError):
        db.session.rollback()
        return error_page(InternalServerError())


def error_page(error: HTTPException, headers: dict | None = None):
    """The error page; for the API (/api/...) the same error as JSON, which its clients read."""
    if request.path.startswith("/api/"):
        name = error.name.lower().replace(" ", "_")
        response = jsonify(error=name, message=error.description)
    else:
        response = render_template("errors/error.html", error=error)
    # The error's own headers (Allow for a 405), without its plain Content-Type.
    own = {key: value for key, value in error.get_headers() if key.lower() != "content-type"}
    return response, error.code, {**own, **(headers or {})}
