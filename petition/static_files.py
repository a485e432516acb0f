"""Static files under fingerprinted addresses, and the site's icon at /favicon.ico.

`url_for('static', filename=...)` adds `?v=` and a hash of the file's bytes: a changed file
gets a new address, so browsers and caches may keep each address a year without asking
again. An address without the fingerprint (or with an old one: a page kept in a cache) still
answers, revalidated on every use as before. Fingerprints are read once per process: a
changed file is seen after a restart, as every deployment does.
"""

import hashlib
from functools import cache
from pathlib import Path

from flask import Flask, Response, current_app, request
from werkzeug.security import safe_join

FINGERPRINT = "v"
# What a browser may do with a fingerprinted address: keep it a year, never ask again.
KEPT_A_YEAR = "public, max-age=31536000, immutable"


def fingerprint(filename: str) -> str | None:
    """The fingerprint of a file of the static folder; None if there is no such file."""
    return _fingerprint(current_app.static_folder, filename)


@cache  # per process; only the files templates name, and files that exist, are asked for
def _fingerprint(folder: str, filename: str) -> str | None:
    path = safe_join(folder, filename)
    if path is None or not Path(path).is_file():
        return None
    # The start of the SHA-256 of the bytes: 48 bits, enough to tell versions apart.
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def _add_fingerprint(endpoint: str, values: dict) -> None:
    if endpoint == "static" and FINGERPRINT not in values:
        # A missing file keeps its plain address: it answers 404, as it would anyway.
        if (version := fingerprint(values["filename"])) is not None:
            values[FINGERPRINT] = version


def static_file(filename: str) -> Response:
    """A file of the static folder; kept a year when its address has the current fingerprint."""
    response = current_app.send_static_file(filename)  # 404 for a missing or outside path
    version = fingerprint(filename)
    if version is not None and request.args.get(FINGERPRINT) == version:
        response.headers["Cache-Control"] = KEPT_A_YEAR
    return response


def favicon() -> Response:
    """The icon browsers and tools ask for at /favicon.ico when a page names none."""
    return current_app.send_static_file("favicon.ico")


def init_static_files(app: Flask) -> None:
    """Serve static files with fingerprints, and /favicon.ico."""
    app.url_defaults(_add_fingerprint)
    app.view_functions["static"] = static_file
    app.add_url_rule("/favicon.ico", "favicon", favicon)
