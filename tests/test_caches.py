"""What each process keeps for a moment so that signing and the call page stay fast: the
call as the signing path reads it, and the call's page as visitors without a session see it.
"""

import contextvars
import re
import time

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, insert, select
from wtforms import IntegerField
from wtforms.widgets import Select

from petition import mail, petitions, queries
from petition.extensions import db
from petition.forms.signing import EndorsementForm, SignatureForm
from petition.models import (
    OutgoingMail,
    PetitionTranslation,
    Signature,
    utcnow,
)

from .conftest import log_in
from .test_sign_http import VALID_SIGNATURE


def count(model, **where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def sign(client, slug: str, **fields):
    return client.post(f"/p/{slug}/sign", data={**VALID_SIGNATURE, **fields})


def add_public_signer_behind_the_apps_back(petition, name: str) -> None:
    """A confirmed public signature, as another server would store it: nothing here forgets."""
    now = utcnow()
    db.session.execute(
        insert(Signature.__table__).values(
            petition_id=petition.id,
            full_name=name,
            email=f"{name.split()[0].lower()}@example.org",
            email_normalized=f"{name.split()[0].lower()}@example.org",
            city="Lille",
            country="FR",
            show_publicly=True,
            wants_updates=False,
            will_attend=False,
            hidden=False,
            status="confirmed",
            source="web",
            signed_at=now,
            confirmed_at=now,
            consent_at=now,
            privacy_notice_version="1",
            token_key="0" * 32,
            mails_sent=1,
        )
    )
    db.session.commit()


@pytest.fixture
def kept(app):
    """The page cache on, for a minute: the suite's default (0) renders every page."""
    app.config["COUNTS_CACHE_SECONDS"] = 60
    return app


# --- The call, as the signing path reads it ---


def test_closing_a_call_refuses_signatures_at_once_on_this_server(app, client, petition):
    app.config["SWITCH_CACHE_SECONDS"] = 60
    assert client.get(f"/p/{petition.slug}/sign").status_code == 200  # the call is kept
    petitions.close_call(petition)
    db.session.commit()
    assert sign(client, petition.slug).status_code == 409
    assert count(Signature) == 0


def test_another_server_refuses_signatures_within_the_switch_delay(make_app, petition):
    """Another server (app) read the call before it closed: it refuses signatures once its
    SWITCH_CACHE_SECONDS have passed, without a restart."""
    other = make_app(SWITCH_CACHE_SECONDS=0.3).test_client()
    assert other.get(f"/p/{petition.slug}/sign").status_code == 200
    petitions.close_call(petition)
    db.session.commit()
    time.sleep(0.4)
    assert sign(other, petition.slug).status_code == 409
    assert count(Signature) == 0
    petitions.reopen_call(petition)
    db.session.commit()
    time.sleep(0.4)
    assert sign(other, petition.slug).status_code == 302
    assert count(Signature) == 1


def test_a_new_slug_answers_at_once_and_the_old_one_stops(app, client, petition):
    app.config["SWITCH_CACHE_SECONDS"] = 60
    old = petition.slug
    assert client.get(f"/p/{old}/sign").status_code == 200
    petition.slug = "renamed-call"
    db.session.commit()
    assert client.get(f"/p/{old}/sign").status_code == 404
    assert sign(client, "renamed-call").status_code == 302
    assert count(Signature, petition_id=petition.id) == 1


def test_an_unknown_call_is_not_kept(app, client, make_petition):
    """A 404 is not remembered: a call created meanwhile answers at once."""
    app.config["SWITCH_CACHE_SECONDS"] = 60
    assert client.get("/p/later-call/sign").status_code == 404
    make_petition(slug="later-call")
    assert client.get("/p/later-call/sign").status_code == 200


def test_the_mail_and_the_signature_are_stored_together_or_not_at_all(app, petition, mails):
    """The outbox row is a plain INSERT in the signature's transaction."""
    from petition import signing

    from .conftest import signature_fields

    with app.test_request_context():
        signing.sign(db.session.merge(petition), **signature_fields())
        db.session.rollback()
    assert count(Signature) == 0 and count(OutgoingMail) == 0
    with app.test_request_context():
        signature = signing.sign(db.session.merge(petition), **signature_fields())
        db.session.commit()
        signature_id = signature.id
    outgoing = db.session.execute(select(OutgoingMail)).scalar_one()
    assert outgoing.signature_id == signature_id and outgoing.endorsement_id is None
    assert outgoing.recipient == signature_fields()["email"]
    assert outgoing.subject.startswith("Please confirm your signature")
    assert "/confirm/" in outgoing.body and outgoing.sent_at is None


def test_each_signature_stores_its_own_values(app, client, petition, mails):
    """The INSERT is built once and its values bound each time: nothing carries over."""
    for name, email in (("Amina Diallo", "amina@example.org"), ("Jean Dupont", "jean@x.org")):
        assert sign(client, petition.slug, full_name=name, email=email).status_code == 302
    mail.wait_for_senders()
    rows = db.session.execute(
        select(Signature.full_name, Signature.email).order_by(Signature.id)
    ).all()
    assert rows == [("Amina Diallo", "amina@example.org"), ("Jean Dupont", "jean@x.org")]
    assert sign(client, petition.slug, full_name="Someone Else").status_code == 302
    assert count(Signature) == 2  # the same address again: no second row
    assert [m["To"] for m in mails] == ["amina@example.org", "jean@x.org", "amina@example.org"]


class _NumberForm(SignatureForm):
    number = IntegerField()


def test_wtforms_messages_follow_each_readers_language(app, petition):
    """WTForms' catalog is read once per language, not once for all."""
    messages = {}

    def submit(language: str) -> None:
        with app.test_request_context(
            "/", method="POST", data={"number": "x"}, headers={"Cookie": f"lang={language}"}
        ):
            form = _NumberForm(petition=petition)
            form.validate()
            plain = type("Plain", (FlaskForm,), {"number": IntegerField()})()
            plain.validate()
            messages.setdefault(language, set()).add(form.number.errors[0])
            assert form.number.errors == plain.number.errors  # what Flask-WTF would say

    for language in ("fr", "en", "ar", "fr"):
        # Each in its own context, as requests are (the test holds an app context).
        contextvars.Context().run(submit, language)
    assert messages["en"] == {"Not a valid integer value."}
    assert len(messages["fr"]) == 1 and messages["fr"] != messages["en"]
    assert messages["ar"] not in (messages["fr"], messages["en"])
    with app.test_request_context("/", headers={"Cookie": "lang=fr"}):
        assert "form_time" in SignatureForm(petition=petition)._fields  # it still builds


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
@pytest.mark.parametrize("sent", [None, "FR", "", "ZZ", "<b>"])
def test_the_country_list_is_the_one_wtforms_would_render(app, petition, language, sent):
    """Its 250 options are rendered once per language: the same HTML, the chosen one selected."""
    data = None if sent is None else {"country": sent}

    def render() -> None:
        with app.test_request_context(
            "/", method="POST" if data else "GET", data=data, headers={"Cookie": f"lang={language}"}
        ):
            for form in (SignatureForm(petition=petition), EndorsementForm(petition=petition)):
                kept = str(form.country(**{"aria-invalid": "true"}))
                assert kept == str(Select()(form.country, **{"aria-invalid": "true"}))
                selected = re.findall(r'<option selected value="([^"]*)"', kept)
                assert selected == ([sent] if sent in ("FR", "") else [])

    for _ in range(2):  # rendered, then from what was kept
        contextvars.Context().run(render)


# --- The call page, kept for visitors without a session ---


def test_visitors_without_a_session_share_one_render(kept, client, petition):
    first = client.get(f"/p/{petition.slug}")
    add_public_signer_behind_the_apps_back(petition, "Jean Dupont")
    again = client.get(f"/p/{petition.slug}")
    assert again.text == first.text and "Jean Dupont" not in again.text
    kept.config["COUNTS_CACHE_SECONDS"] = 0.3
    kept.extensions["petition.cache"].clear()
    client.get(f"/p/{petition.slug}")
    add_public_signer_behind_the_apps_back(petition, "Leila Haddad")
    time.sleep(0.4)
    assert "Leila Haddad" in client.get(f"/p/{petition.slug}").text  # its time is up


def test_a_kept_page_has_the_headers_of_a_fresh_one(kept, client, petition):
    fresh = client.get(f"/p/{petition.slug}")
    copy = client.get(f"/p/{petition.slug}")
    assert copy.text == fresh.text
    for name in ("Cache-Control", "Content-Security-Policy", "X-Frame-Options", "Content-Type"):
        assert copy.headers[name] == fresh.headers[name], name
    assert "public" in copy.headers["Cache-Control"]
    assert {"Cookie", "Accept-Language"} <= set(copy.vary)
    assert "Set-Cookie" not in copy.headers
    assert "nonce" not in copy.headers["Content-Security-Policy"]  # no per-response secret


def test_confirming_drops_the_page_so_everyone_sees_the_new_signer(kept, client, petition, mails):
    reader = kept.test_client()
    assert "Amina Diallo" not in reader.get(f"/p/{petition.slug}").text
    sign(client, petition.slug)
    client.post(f"/confirm/{mails.links(mails[-1])[0]}")
    assert "Amina Diallo" in reader.get(f"/p/{petition.slug}").text


def test_one_visitors_flashed_message_is_never_shown_to_another(kept, client, petition, mails):
    reader = kept.test_client()
    thanks = "Your signature is confirmed"
    sign(client, petition.slug)
    confirmed = client.post(f"/confirm/{mails.links(mails[-1])[0]}")
    assert thanks not in reader.get(f"/p/{petition.slug}").text  # kept, without the flash
    own_page = client.get(confirmed.headers["Location"])
    assert thanks in own_page.text  # the signer sees theirs, not the kept copy
    assert "no-store" in own_page.headers["Cache-Control"]
    for visitor in (reader, kept.test_client()):
        assert thanks not in visitor.get(f"/p/{petition.slug}").text
    assert thanks not in client.get(f"/p/{petition.slug}").text  # shown once


def test_an_organizer_gets_their_own_page_and_others_never_see_it(
    kept, client, petition, organizer
):
    reader = kept.test_client()
    assert "Workspace" not in reader.get(f"/p/{petition.slug}").text
    log_in(client, organizer)
    own = client.get(f"/p/{petition.slug}")
    assert "Workspace" in own.text and "no-store" in own.headers["Cache-Control"]
    assert "Workspace" not in reader.get(f"/p/{petition.slug}").text
    assert "Workspace" not in kept.test_client().get(f"/p/{petition.slug}").text


def html_lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


def test_the_page_is_kept_per_language(kept, client, petition):
    db.session.add(
        PetitionTranslation(
            petition_id=petition.id,
            language="es",
            title="Abrir las fronteras",
            summary="Un llamamiento.",
            body="Libertad de circulación.",
            updated_at=utcnow(),
        )
    )
    db.session.commit()
    for _ in range(2):  # rendered, then kept: each language keeps its own
        assert html_lang(client.get(f"/p/{petition.slug}").text) == "en"
        french = client.get(f"/p/{petition.slug}", headers={"Accept-Language": "fr"})
        assert html_lang(french.text) == "fr"
        client.set_cookie("lang", "ar", domain="petitions.example.org")
        assert html_lang(client.get(f"/p/{petition.slug}").text) == "ar"
        client.delete_cookie("lang", domain="petitions.example.org")
        spanish = client.get(f"/p/{petition.slug}?lang=es").text
        assert "Abrir las fronteras" in spanish
        assert "Abrir las fronteras" not in client.get(f"/p/{petition.slug}").text


def test_the_page_is_kept_per_host(make_app, petition):
    """Links in the page name the host it was asked from: one host's copy is not another's.
    (In production TRUSTED_HOSTS, from SERVER_NAME, refuses the hosts it does not know.)"""
    client = make_app(SERVER_NAME=None, COUNTS_CACHE_SECONDS=60).test_client()
    for _ in range(2):
        for host in ("one.example", "two.example"):
            page = client.get(f"/p/{petition.slug}", base_url=f"https://{host}").text
            assert f'rel="canonical" href="https://{host}/p/{petition.slug}"' in page


def test_other_query_parameters_are_rendered_not_kept(kept, client, petition):
    """A share's tracking tag is in the page (the language switcher keeps the address): such
    pages are rendered each time, so tags cannot fill the process's memory."""
    for query in (
        "utm_source=x",
        "lang=fr&utm_source=x",
        "lang=no-such-language",
        "lang=fr&lang=ar",
    ):
        assert client.get(f"/p/{petition.slug}?{query}").status_code == 200
    keys = [key for key in kept.extensions.get("petition.cache", {}) if key[0] == "page"]
    assert keys == []
    client.get(f"/p/{petition.slug}")
    client.get(f"/p/{petition.slug}?lang=fr")
    keys = [key for key in kept.extensions["petition.cache"] if key[0] == "page"]
    assert len(keys) == 2


def test_pausing_shows_on_the_page_at_once_here_and_within_the_delay_elsewhere(
    kept, client, runner, petition, make_app
):
    other = make_app(COUNTS_CACHE_SECONDS=60, SWITCH_CACHE_SECONDS=0.3).test_client()
    for visitor in (client, other):
        assert "Back at 18:00." not in visitor.get(f"/p/{petition.slug}").text
    runner.invoke(args=["signing", "pause", "--notice", "Back at 18:00."])
    assert "Back at 18:00." in client.get(f"/p/{petition.slug}").text
    time.sleep(0.4)
    assert "Back at 18:00." in other.get(f"/p/{petition.slug}").text


def test_closing_shows_on_the_page_at_once_here(kept, client, petition):
    kept.config["SWITCH_CACHE_SECONDS"] = 60
    assert "Sign as an individual" in client.get(f"/p/{petition.slug}").text
    petitions.close_call(petition)
    db.session.commit()
    page = client.get(f"/p/{petition.slug}").text
    assert "Sign as an individual" not in page and "This call is closed" in page


def test_signatures_confirmed_elsewhere_show_within_the_counts_delay(make_app, petition, mails):
    other = make_app(COUNTS_CACHE_SECONDS=0.3, SWITCH_CACHE_SECONDS=60).test_client()
    assert "Jean Dupont" not in other.get(f"/p/{petition.slug}").text
    add_public_signer_behind_the_apps_back(petition, "Jean Dupont")
    time.sleep(0.4)
    assert "Jean Dupont" in other.get(f"/p/{petition.slug}").text


def test_what_a_process_keeps_is_bounded(app, monkeypatch):
    """Keys that come from requests cannot grow the cache without end; stale values make room."""
    monkeypatch.setattr(queries, "KEPT_AT_MOST", 10)
    for n in range(30):
        queries.keep(("page", n), 0.3, "fresh")
    assert len(app.extensions["petition.cache"]) == 10
    assert queries.recall(("page", 29)) is None and queries.recall(("page", 9)) == "fresh"
    time.sleep(0.4)  # their time is up
    queries.keep(("page", "new"), 60, "room made")
    assert queries.recall(("page", "new")) == "room made"
    assert len(app.extensions["petition.cache"]) == 1
