"""Rate limits on the forms that write, per client address, shared across workers.

Limits come from configuration (RATELIMIT_SIGN, RATELIMIT_ENDORSE, RATELIMIT_LOGIN, in
Flask-Limiter's notation) and are counted in RATELIMIT_STORAGE_URI: memory for one
process, Redis (redis://127.0.0.1:6379) when several workers or servers must share them.
The client address is the one ProxyFix trusted (TRUSTED_PROXIES), never a raw
X-Forwarded-For. RATELIMIT_ENABLED=false turns them off (load tests, integrations).
"""

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def _per_call() -> str:
    # Signing one call does not use up the allowance for another.
    return f"{get_remote_address()}:{request.view_args.get('slug', '')}"


# endpoint: (setting holding its limits, what is counted)
RATE_LIMITED_FORMS = {
    "sign.sign": ("RATELIMIT_SIGN", _per_call),
    "sign.endorse": ("RATELIMIT_ENDORSE", _per_call),
    "auth.login": ("RATELIMIT_LOGIN", get_remote_address),
}


def init_rate_limits(app: Flask) -> Limiter:
    """A limiter of this app's own, applied to the POSTs of the forms above."""
    limiter = Limiter(get_remote_address, app=app)
    for endpoint, (setting, key_func) in RATE_LIMITED_FORMS.items():
        limited = limiter.limit(
            lambda setting=setting: current_app.config[setting],
            key_func=key_func,
            methods=["POST"],
        )
        app.view_functions[endpoint] = limited(app.view_functions[endpoint])
    app.extensions["petition.limiter"] = limiter  # the limits hold it by a weak reference
    return limiter
