"""Production settings: rate limits (memory and a real Redis), proxies, health, outages."""

import uuid

import pytest
from sqlalchemy import func, select

from petition import create_app
from petition.extensions import db
from petition.models import Signature

from .test_sign_http import VALID_SIGNATURE

REDIS_URL = "redis://127.0.0.1:6379"


def signatures() -> int:
    return db.session.scalar(select(func.count()).select_from(Signature))


def post_signature(client, petition, n, **environ):
    data = {**VALID_SIGNATURE, "email": f"signer{n}@example.org"}
    return client.post(f"/p/{petition.slug}/sign", data=data, environ_overrides=environ)


def test_signing_is_rate_limited_per_address_with_a_clear_page(app, client, petition):
    app.config["RATELIMIT_SIGN"] = "3 per minute"
    statuses = [post_signature(client, petition, n).status_code for n in range(4)]
    assert statuses == [302, 302, 302, 429]
    limited = post_signature(client, petition, 9)
    assert "Too many requests" in limited.text
    assert int(limited.headers["Retry-After"]) > 0
    assert signatures() == 3
    other_address = post_signature(client, petition, 10, REMOTE_ADDR="198.51.100.7")
    assert other_address.status_code == 302  # another client is not affected


def test_the_limit_counts_per_call(app, client, make_petition):
    app.config["RATELIMIT_SIGN"] = "1 per minute"
    first, second = make_petition(), make_petition()
    assert post_signature(client, first, 1).status_code == 302
    assert post_signature(client, first, 2).status_code == 429
    assert post_signature(client, second, 3).status_code == 302


def test_login_is_rate_limited(app, client, organizer):
    app.config["RATELIMIT_LOGIN"] = "2 per minute"
    data = {"email": organizer.email, "password": "wrong password!"}
    statuses = [client.post("/organizer/login", data=data).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_rate_limits_can_be_switched_off(make_app, petition):
    client = make_app(RATELIMIT_ENABLED=False, RATELIMIT_SIGN="1 per minute").test_client()
    assert [post_signature(client, petition, n).status_code for n in range(3)] == [302] * 3


def test_a_forged_forwarded_for_does_not_escape_the_limit(make_app, petition):
    """Behind one proxy, only the address that proxy saw counts."""
    client = make_app(TRUSTED_PROXIES=1, RATELIMIT_SIGN="2 per minute").test_client()
    statuses = [
        post_signature(
            client, petition, n, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.9"
        ).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]


@pytest.fixture
def redis_settings():
    """Limits counted in the real Redis server, under a key prefix of this test's own."""
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    connection.ping()  # no Redis is a failure, not a skip
    prefix = f"petition-test-{uuid.uuid4().hex}"
    yield {
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "RATELIMIT_SIGN": "3 per minute",
    }
    for key in connection.scan_iter(f"*{prefix}*"):
        connection.delete(key)
    connection.close()


def test_workers_share_limits_through_redis(make_app, redis_settings, petition):
    """Two apps (two workers, or two servers) count one client's requests together."""
    a, b = make_app(**redis_settings).test_client(), make_app(**redis_settings).test_client()
    statuses = [
        post_signature(a, petition, 1).status_code,
        post_signature(b, petition, 2).status_code,
        post_signature(a, petition, 3).status_code,
        post_signature(b, petition, 4).status_code,
    ]
    assert statuses == [302, 302, 302, 429]
    assert signatures() == 3


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert "no-store" in response.headers["Cache-Control"]


def test_an_unreachable_database_gives_503_and_acknowledges_nothing(tmp_path, petition):
    """A database server that does not answer: 503 pages, never a false success."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )
    client = app.test_client()
    assert client.get("/healthz").status_code == 503
    for response in (client.get(f"/p/{petition.slug}"), post_signature(client, petition, 1)):
        assert response.status_code == 503
        assert "Temporarily unavailable" in response.text
        assert response.headers["Retry-After"]


def test_production_refuses_to_start_without_a_shared_secret_key(config):
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        create_app({**config, "PETITION_ENV": "production", "SECRET_KEY": None})
    with pytest.raises(RuntimeError, match="SERVER_NAME must be set"):
        create_app({**config, "PETITION_ENV": "production", "SERVER_NAME": None})


def test_https_deployments_get_secure_cookies_and_hsts(make_app, organizer):
    app = make_app(PREFERRED_URL_SCHEME="https", WTF_CSRF_ENABLED=True)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    response = client.get("/organizer/login", base_url="https://petitions.example.org")
    assert "max-age" in response.headers["Strict-Transport-Security"]
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signing_goes_on_when_redis_is_down(make_app, petition):
    """Rate limits fall back to each process's memory; no signature is refused for it."""
    client = make_app(
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1", RATELIMIT_SIGN="2 per minute"
    ).test_client()
    statuses = [post_signature(client, petition, n).status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    assert signatures() == 2
