"""Running the service: pausing signing without a restart."""

import time

from sqlalchemy import func, select

from petition.extensions import db
from petition.models import Endorsement, Signature

from .test_sign_http import VALID_ENDORSEMENT, VALID_SIGNATURE


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_pausing_refuses_signatures_with_a_notice_and_resuming_takes_them(
    app, client, runner, petition
):
    result = runner.invoke(args=["signing", "pause", "--notice", "Back at 18:00."])
    assert result.exit_code == 0, result.output

    page = client.get(f"/p/{petition.slug}")
    assert "Back at 18:00." in page.text
    form = client.get(f"/p/{petition.slug}/sign")
    assert form.status_code == 200 and "Signing is paused" in form.text
    assert 'name="full_name"' not in form.text
    for url, data in (
        (f"/p/{petition.slug}/sign", VALID_SIGNATURE),
        (f"/p/{petition.slug}/endorse", VALID_ENDORSEMENT),
    ):
        response = client.post(url, data=data)
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert "Signing is paused" in response.text
    assert count(Signature) == 0 and count(Endorsement) == 0

    assert runner.invoke(args=["signing", "resume"]).exit_code == 0
    assert "Back at 18:00." not in client.get(f"/p/{petition.slug}").text
    assert client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE).status_code == 302
    assert count(Signature) == 1


def test_a_pause_reaches_every_app_within_the_switch_delay(make_app, runner, petition):
    """The switch lives in the database: another server (app) sees it without a restart,
    once its SWITCH_CACHE_SECONDS have passed (every page asks; the answer is shared)."""
    other = make_app(SWITCH_CACHE_SECONDS=0.3)
    other_client = other.test_client()
    assert "Signing is paused" not in other_client.get(f"/p/{petition.slug}").text
    runner.invoke(args=["signing", "pause"])
    time.sleep(0.4)
    assert other_client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE).status_code == 503
    runner.invoke(args=["signing", "resume"])
    # Within the delay the other server still answers from what it read.
    assert "Signing is paused" in other_client.get(f"/p/{petition.slug}").text
    time.sleep(0.4)
    assert other_client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE).status_code == 302


def test_the_server_that_pauses_sees_it_at_once(app, client, runner, petition):
    app.config["SWITCH_CACHE_SECONDS"] = 60
    assert "Signing is paused" not in client.get(f"/p/{petition.slug}").text
    runner.invoke(args=["signing", "pause"])
    assert client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE).status_code == 503
    runner.invoke(args=["signing", "resume"])
    assert client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE).status_code == 302
