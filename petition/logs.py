"""Logs without secrets: the tokens in mailed links never reach a log line."""

import logging
import re

from gunicorn.glogging import Logger

_TOKEN_IN_PATH = re.compile(r"/(confirm|withdraw)/[^/?#\s\"]+")


def redact(text: str) -> str:
    """Replace the token of confirmation and withdrawal links."""
    return _TOKEN_IN_PATH.sub(r"/\1/[token]", text)


class RedactTokens(logging.Filter):
    """For the development server's request log (logger `werkzeug`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


class GunicornLogger(Logger):
    """gunicorn's logger, with tokens taken out of the access log (and of the Referer)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "{referer}i"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
