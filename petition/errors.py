"""Domain errors, and the error pages every failure ends on."""

from flask import Flask, has_request_context, render_template
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
        return render_template("errors/error.html", error=error), error.code

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        # The database is down or overloaded: nothing was acknowledged, try again soon.
        db.session.rollback()
        app.logger.error("database unavailable: %s", error.orig)
        page = render_template("errors/error.html", error=ServiceUnavailable())
        return page, 503, {"Retry-After": "30"}

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError):
        db.session.rollback()
        return render_template("errors/error.html", error=InternalServerError()), 500
