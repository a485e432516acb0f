"""Traps for bots: they are answered as if they had signed, and nothing is stored."""

import re
import time

import pytest
from sqlalchemy import func, select

from petition.extensions import db
from petition.models import Endorsement, OutgoingMail, Signature

from .test_sign_http import VALID_ENDORSEMENT, VALID_SIGNATURE

FORM_TIME = re.compile(r'name="form_time" type="hidden" value="([^"]*)"')


def stored() -> int:
    return sum(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Signature, Endorsement, OutgoingMail)
    )


@pytest.mark.parametrize(
    ("form", "data"), [("sign", VALID_SIGNATURE), ("endorse", VALID_ENDORSEMENT)]
)
def test_a_filled_honeypot_looks_like_success_and_stores_nothing(client, petition, form, data):
    response = client.post(f"/p/{petition.slug}/{form}", data={**data, "url": "http://spam"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/p/{petition.slug}/check-your-email"
    assert stored() == 0


def test_the_honeypot_is_in_the_form_but_out_of_sight(client, petition):
    page = client.get(f"/p/{petition.slug}/sign").text
    assert re.search(r'<div class="trap" aria-hidden="true">', page)
    assert 'name="url"' in page and 'tabindex="-1"' in page


def test_a_form_sent_too_fast_looks_like_success_and_stores_nothing(app, client, petition):
    app.config["MIN_FORM_SECONDS"] = 3
    stamp = FORM_TIME.search(client.get(f"/p/{petition.slug}/sign").text).group(1)
    response = client.post(f"/p/{petition.slug}/sign", data={**VALID_SIGNATURE, "form_time": stamp})
    assert response.status_code == 302
    assert stored() == 0


def test_a_person_who_takes_their_time_signs(app, client, petition, monkeypatch):
    app.config["MIN_FORM_SECONDS"] = 3
    stamp = FORM_TIME.search(client.get(f"/p/{petition.slug}/sign").text).group(1)
    later = time.time() + 5
    monkeypatch.setattr("petition.tokens.time.time", lambda: later)
    response = client.post(f"/p/{petition.slug}/sign", data={**VALID_SIGNATURE, "form_time": stamp})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1


@pytest.mark.parametrize("stamp", ["", "form.AAAAAA.forged", "0", "x" * 300])
def test_a_missing_or_forged_form_time_is_a_trap_too(app, client, petition, stamp):
    app.config["MIN_FORM_SECONDS"] = 3
    response = client.post(f"/p/{petition.slug}/sign", data={**VALID_SIGNATURE, "form_time": stamp})
    assert response.status_code == 302
    assert stored() == 0
