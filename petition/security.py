"""Response headers that every page gets, error pages included; request size limits."""

import io

from flask import Flask, Response, abort, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The embeddable counter (/p/<slug>/embed) only: any site may frame it.
EMBED_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "frame-ancestors 'none'", "frame-ancestors *"
)


def allow_framing(response: Response) -> Response:
    """Let any site show this response in a frame (and skip X-Frame-Options: DENY)."""
    response.headers["Content-Security-Policy"] = EMBED_CONTENT_SECURITY_POLICY
    return response


def allow_any_origin(response: Response) -> Response:
    """Let scripts on any site read this response (public, read-only data only)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def register_security_headers(app: Flask) -> None:
    """Add CSP, nosniff, referrer and framing rules to every response."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # Mailed links carry tokens in their path: never send them to another site.
        headers.setdefault("Referrer-Policy", "same-origin")
        if headers["Content-Security-Policy"] != EMBED_CONTENT_SECURITY_POLICY:
            headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("PREFERRED_URL_SCHEME") == "https":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def refuse_oversized_bodies(app: Flask) -> None:
    """A body without Content-Length (chunked) over MAX_CONTENT_LENGTH gets 413.

    Werkzeug would cut such a body at the limit and parse the rest as if whole, so a
    signature could be stored from a truncated form. Read it up to the limit here first.
    """

    @app.before_request
    def check_body_size():
        if request.content_length is not None or request.method in ("GET", "HEAD", "OPTIONS"):
            return
        limit = app.config["MAX_CONTENT_LENGTH"]
        body = request.environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            abort(413)
        request.environ["wsgi.input"] = io.BytesIO(body)
        request.environ["CONTENT_LENGTH"] = str(len(body))
