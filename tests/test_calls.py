"""Managing calls in the workspace: create, edit (text, demands, event), close and reopen."""

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from petition import queries
from petition.extensions import db
from petition.models import Demand, Petition, PetitionStatus, Signature

from .conftest import log_in
from .helpers import organizers_actions
from .test_sign_http import VALID_SIGNATURE


def call_data(**overrides) -> dict:
    """A complete, valid editor form, as a browser sends it."""
    data = {
        "title": "Papers for all",
        "slug": "papers-for-all",
        "summary": "A call for   regularization.",
        "body": "We call for **freedom of movement**.\n\n- one\n- two",
        "demands-0-position": "1",
        "demands-0-text": "Regularize all undocumented people",
        "demands-1-position": "2",
        "demands-1-text": "Close the camps",
        "demands-2-position": "3",
        "demands-2-text": "",
        "timezone": "Europe/Paris",
        "closes_at": "2030-10-14T18:00",
        "collects_endorsements": "y",
        "event_starts_at": "2030-10-14T16:00",
        "event_place": "Place d’Armes",
        "event_address": "Place d’Armes, 62100 Calais",
        "signature_goal": "10000",
        "purge_after_days": "90",
        "save": "Save",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


class _FormReader(HTMLParser):
    """The values a browser would send from the editor form (without pressing a button)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.in_form = False
        self.textarea = self.select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_form = "call-form" in (attrs.get("class") or "")
        if not self.in_form:
            return
        name = attrs.get("name")
        if tag == "input" and attrs.get("type") not in ("submit", "checkbox"):
            self.values[name] = attrs.get("value") or ""
        elif tag == "input" and attrs.get("type") == "checkbox" and "checked" in attrs:
            self.values[name] = attrs.get("value") or "y"
        elif tag == "textarea":
            self.textarea = name
            self.values[name] = ""
        elif tag == "select":
            self.select = name
        elif tag == "option" and "selected" in attrs:
            self.values[self.select] = attrs["value"]

    def handle_data(self, data):
        if self.textarea:
            self.values[self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.in_form = False


def edit_data(client, petition, **overrides) -> dict:
    """The edit form as the page fills it in, with some fields changed, and "Save" pressed."""
    reader = _FormReader()
    reader.feed(client.get(f"/organizer/p/{petition.slug}/edit").text)
    # A browser drops the one newline that follows <textarea>.
    data = {name: value.removeprefix("\n") for name, value in reader.values.items()}
    data["save"] = "Save"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def audit_actions(petition=None) -> list[tuple[str, list]]:
    return [
        (e.action, e.details.get("changed"))
        for e in organizers_actions()
        if petition is None or e.petition_id == petition.id
    ]


# --- Creating ---


def test_new_call_form_has_every_field_and_empty_demand_slots(logged_in):
    response = logged_in.get("/organizer/calls/new")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    for name in (
        "title",
        "slug",
        "summary",
        "body",
        "timezone",
        "closes_at",
        "event_starts_at",
        "event_place",
        "event_address",
        "signature_goal",
        "collects_endorsements",
        "purge_after_days",
    ):
        assert f'name="{name}"' in response.text, name
    assert 'name="demands-2-text"' in response.text
    assert 'name="demands-3-text"' not in response.text
    assert '<option selected value="UTC">' in response.text
    assert 'value="Europe/Paris"' in response.text
    assert 'name="preview"' in response.text


def test_an_organizer_creates_a_call_and_gets_rights_on_it(app, client, make_organizer):
    helper = make_organizer("helper@example.org", role="organizer")
    log_in(client, helper)
    response = client.post("/organizer/calls/new", data=call_data())
    assert response.status_code == 302
    assert response.headers["Location"] == "/organizer/p/papers-for-all/edit"

    petition = db.session.scalar(select(Petition).filter_by(slug="papers-for-all"))
    assert petition.title == "Papers for all"
    assert petition.summary == "A call for regularization."  # whitespace cleaned
    assert petition.body == "We call for **freedom of movement**.\n\n- one\n- two"
    assert [d.text for d in petition.demands] == [
        "Regularize all undocumented people",
        "Close the camps",
    ]
    assert petition.status is PetitionStatus.OPEN and petition.closed_at is None
    assert petition.signature_goal == 10000
    assert petition.purge_after_days == 90
    assert petition.collects_endorsements is True
    assert petition.event_timezone == "Europe/Paris"
    assert petition.event_starts_at == datetime(2030, 10, 14, 14, 0, tzinfo=UTC)
    assert petition.closes_at == datetime(2030, 10, 14, 16, 0, tzinfo=UTC)
    assert petition.event_place == "Place d’Armes"

    db.session.refresh(helper)
    assert petition in helper.petitions
    [(action, changed)] = audit_actions(petition)
    assert action == "create_call"
    assert {"slug", "title", "demands", "event_starts_at", "purge_after_days"} <= set(changed)
    (entry,) = organizers_actions()
    assert entry.actor == "helper@example.org"

    # The author can now work on it; the public page shows it.
    assert client.get("/organizer/p/papers-for-all/edit").status_code == 200
    assert client.get("/organizer/p/papers-for-all").status_code == 200
    public = client.get("/p/papers-for-all")
    assert public.status_code == 200
    assert "<strong>freedom of movement</strong>" in public.text
    assert "Close the camps" in public.text


def test_a_call_without_event_or_optional_fields(logged_in):
    data = call_data(
        event_starts_at="",
        event_place="",
        event_address="",
        closes_at="",
        signature_goal="",
        purge_after_days="",
        summary="",
        collects_endorsements=None,
        timezone="UTC",
    )
    response = logged_in.post("/organizer/calls/new", data=data)
    assert response.status_code == 302
    petition = db.session.scalar(select(Petition))
    assert petition.event_starts_at is None and petition.event_timezone is None
    assert petition.event_place is None and petition.event_address is None
    assert petition.closes_at is None and petition.signature_goal is None
    assert petition.purge_after_days is None
    assert petition.collects_endorsements is False
    assert petition.is_open()


def test_closing_date_without_event_is_read_in_the_chosen_zone_and_shown_in_utc(logged_in):
    data = call_data(
        event_starts_at="",
        event_place="",
        event_address="",
        timezone="America/New_York",
        closes_at="2030-01-15T09:30",
    )
    assert logged_in.post("/organizer/calls/new", data=data).status_code == 302
    petition = db.session.scalar(select(Petition))
    assert petition.closes_at == datetime(2030, 1, 15, 14, 30, tzinfo=UTC)
    assert petition.event_timezone is None
    page = logged_in.get("/organizer/p/papers-for-all/edit").text
    assert '<option selected value="UTC">' in page
    assert 'value="2030-01-15T14:30"' in page


# --- Validation ---


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"title": "   "}, "This field is required."),
        ({"title": "x" * 201}, "At most 200 characters, please."),
        ({"title": "Papers\u202e for all"}, "Please remove the invisible or control characters."),
        ({"body": "Text\x00 with a NUL"}, "Please remove the invisible or control characters."),
        ({"demands-1-text": "Close\u200b the camps"}, "Please remove the invisible"),
        ({"summary": "s" * 1001}, "At most 1000 characters, please."),
        ({"slug": ""}, "This field is required."),
        ({"slug": "papers for all"}, "Use lower-case letters, digits and single hyphens"),
        ({"slug": "papers--for-all"}, "Use lower-case letters, digits and single hyphens"),
        ({"slug": "-papers"}, "Use lower-case letters, digits and single hyphens"),
        ({"slug": "a" * 81}, "At most 80 characters, please."),
        ({"signature_goal": "0"}, "The goal is a whole number of signatures, at least 1."),
        ({"signature_goal": "-5"}, "The goal is a whole number of signatures, at least 1."),
        ({"signature_goal": "99999999999"}, "The goal is a whole number of signatures"),
        ({"signature_goal": "many"}, "Not a valid integer value."),
        ({"purge_after_days": "-1"}, "A whole number of days from 0 to 3650."),
        ({"purge_after_days": "1.5"}, "Not a valid integer value."),
        ({"timezone": "Mars/Olympus_Mons"}, "Please choose a time zone from the list."),
        ({"timezone": ""}, "Please choose a time zone from the list."),
        ({"event_starts_at": "next tuesday"}, "Not a valid datetime value."),
        ({"closes_at": "2030-13-01T10:00"}, "Not a valid datetime value."),
        (
            {"event_starts_at": "", "event_place": "Calais"},
            "or leave its place and address empty.",
        ),
        (
            {"event_starts_at": "2030-03-31T02:30"},
            "This time does not exist in Europe/Paris (the clocks change).",
        ),
        ({"event_place": "p" * 201}, "At most 200 characters, please."),
        ({"event_address": "a" * 301}, "At most 300 characters, please."),
        ({"demands-0-position": "0"}, "A position is a whole number from 1 to 500."),
        ({"demands-0-text": "d" * 2001}, "At most 2000 characters, please."),
    ],
)
def test_invalid_calls_are_refused_with_a_message_and_nothing_stored(logged_in, overrides, message):
    response = logged_in.post("/organizer/calls/new", data=call_data(**overrides))
    assert response.status_code == 422
    assert message in response.text
    assert "Please correct the following:" in response.text
    assert 'aria-invalid="true"' in response.text
    assert db.session.scalar(select(func.count()).select_from(Petition)) == 0
    assert db.session.scalar(select(func.count()).select_from(Demand)) == 0
    assert audit_actions() == []


def test_slug_is_lower_cased_and_a_taken_slug_is_refused(logged_in, make_petition):
    make_petition(slug="papers-for-all", title="The first one")
    response = logged_in.post("/organizer/calls/new", data=call_data(slug="Papers-For-All"))
    assert response.status_code == 422
    assert "Another call already has this address." in response.text
    assert 'value="papers-for-all"' in response.text
    titles = db.session.scalars(select(Petition.title)).all()
    assert titles == ["The first one"]
    assert audit_actions() == []


def test_what_was_typed_is_kept_after_an_error(logged_in):
    data = call_data(signature_goal="0", body="Keep <this> & that")
    response = logged_in.post("/organizer/calls/new", data=data)
    assert response.status_code == 422
    assert "Keep &lt;this&gt; &amp; that" in response.text
    assert 'value="Regularize all undocumented people"' not in response.text  # a textarea
    assert "Regularize all undocumented people</textarea>" in response.text
    assert 'value="Papers for all"' in response.text


def test_too_many_demands_are_refused_not_cut(logged_in):
    data = call_data()
    for index in range(51):
        data[f"demands-{index}-position"] = str(index + 1)
        data[f"demands-{index}-text"] = f"Demand {index}"
    response = logged_in.post("/organizer/calls/new", data=data)
    assert response.status_code == 422
    assert "At most 50 demands, please." in response.text
    assert db.session.scalar(select(func.count()).select_from(Petition)) == 0

    data.pop("demands-50-text")
    assert logged_in.post("/organizer/calls/new", data=data).status_code == 302
    petition = db.session.scalar(select(Petition))
    assert [d.text for d in petition.demands] == [f"Demand {i}" for i in range(50)]
    page = logged_in.get(f"/organizer/p/{petition.slug}/edit").text
    assert 'name="demands-49-text"' in page and 'name="demands-50-text"' not in page


def test_a_long_call_fits_in_the_editor(logged_in):
    """Longer than the 64 KiB meant for signing forms, within the call's own limit."""
    body = "Liberté, égalité, fraternité. " * 3000  # 90,000 characters, ~190 KB encoded
    response = logged_in.post("/organizer/calls/new", data=call_data(body=body))
    assert response.status_code == 302
    assert db.session.scalar(select(Petition.body)) == body.strip()

    response = logged_in.post("/organizer/calls/new", data=call_data(slug="x", body=body * 2))
    assert response.status_code == 422
    assert "At most 100000 characters, please." in response.text


# --- Preview ---


def test_preview_renders_markdown_escapes_html_and_stores_nothing(logged_in):
    body = "Hello **world**\n\n<script>alert(1)</script>\n\n[bad](javascript:alert(2))"
    data = call_data(body=body, save=None, preview="Preview")
    response = logged_in.post("/organizer/calls/new", data=data)
    assert response.status_code == 200
    assert "<strong>world</strong>" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert 'href="javascript:' not in response.text
    assert "Not saved yet" in response.text
    # The form comes back as typed, with demands and empty slots to add more.
    assert "Close the camps</textarea>" in response.text
    assert 'name="demands-3-text"' in response.text
    assert db.session.scalar(select(func.count()).select_from(Petition)) == 0
    assert audit_actions() == []


def test_preview_of_an_invalid_form_shows_the_errors_too(logged_in, petition):
    data = edit_data(logged_in, petition, title="", body="*new*", preview="Preview")
    response = logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data)
    assert response.status_code == 422
    assert "<em>new</em>" in response.text
    assert "This field is required." in response.text
    db.session.expire_all()
    assert petition.title == "Open the borders"
    assert petition.body == "We call for **freedom of movement**."


def test_edit_preview_does_not_change_the_call(logged_in, petition):
    data = edit_data(logged_in, petition, body="# Changed", preview="Preview")
    response = logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data)
    assert response.status_code == 200
    assert "<h1>Changed</h1>" in response.text
    db.session.expire_all()
    assert petition.body == "We call for **freedom of movement**."
    assert audit_actions() == []


# --- Editing ---


def test_edit_form_is_filled_with_the_call(logged_in, petition):
    page = logged_in.get(f"/organizer/p/{petition.slug}/edit")
    assert page.status_code == 200
    assert 'value="Open the borders"' in page.text
    assert "Papers for all</textarea>" in page.text
    assert "Close the camps</textarea>" in page.text
    assert '<option selected value="Europe/Paris">' in page.text
    assert 'value="2030-10-14T16:00"' in page.text  # 14:00 UTC shown in Paris time
    # Three empty slots after the two demands.
    assert 'name="demands-4-text"' in page.text and 'name="demands-5-text"' not in page.text


def test_editing_never_touches_signatures(logged_in, petition, make_signature, make_endorsement):
    confirmed = make_signature(petition, confirmed=True)
    pending = make_signature(petition, email="other@example.org", full_name="Other Person")
    make_endorsement(petition)
    before_rows = db.session.execute(
        select(
            Signature.id, Signature.status, Signature.full_name, Signature.confirmed_at
        ).order_by(Signature.id)
    ).all()
    before_counts = (queries.count_signatories(petition), queries.status_counts(petition))

    data = edit_data(
        logged_in,
        petition,
        title="Open all the borders",
        body="New *text*",
        **{"demands-0-text": "Papers for everyone"},
    )
    response = logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organizer/p/{petition.slug}/edit"

    db.session.expire_all()
    assert petition.title == "Open all the borders"
    assert petition.body == "New *text*"
    assert [d.text for d in petition.demands] == ["Papers for everyone", "Close the camps"]
    after_rows = db.session.execute(
        select(
            Signature.id, Signature.status, Signature.full_name, Signature.confirmed_at
        ).order_by(Signature.id)
    ).all()
    assert after_rows == before_rows
    assert {confirmed.id, pending.id} == {row.id for row in after_rows}
    assert (queries.count_signatories(petition), queries.status_counts(petition)) == before_counts
    assert audit_actions(petition) == [("edit_call", ["title", "body", "demands"])]
    # The event and dates went through the form unchanged.
    assert petition.event_starts_at == datetime(2030, 10, 14, 14, 0, tzinfo=UTC)
    assert petition.event_timezone == "Europe/Paris"
    assert petition.status is PetitionStatus.OPEN


def test_saving_an_unchanged_call_records_nothing(logged_in, petition):
    response = logged_in.post(
        f"/organizer/p/{petition.slug}/edit", data=edit_data(logged_in, petition)
    )
    assert response.status_code == 302
    assert "Nothing was changed." in logged_in.get(response.headers["Location"]).text
    assert audit_actions() == []


def test_demands_are_added_edited_reordered_and_removed(logged_in, make_petition):
    petition = make_petition(demands=["First", "Second", "Third"])
    data = edit_data(
        logged_in,
        petition,
        **{
            # "First" moves to the end, "Second" is edited over two lines,
            # "Third" is removed, and a new demand goes in second place.
            "demands-0-position": "9",
            "demands-1-text": "Second, edited\non two lines",
            "demands-2-text": "",
            "demands-3-position": "2",
            "demands-3-text": "A new demand",
        },
    )
    response = logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    assert [(d.position, d.text) for d in petition.demands] == [
        (0, "Second, edited\non two lines"),
        (1, "A new demand"),
        (2, "First"),
    ]
    assert audit_actions(petition) == [("edit_call", ["demands"])]
    public = logged_in.get(f"/p/{petition.slug}").text
    assert public.index("Second, edited") < public.index("A new demand") < public.index("First")
    assert "Third" not in public

    # Removing them all leaves a call without demands.
    data = edit_data(logged_in, petition)
    for key in [k for k in data if k.endswith("-text")]:
        data[key] = "  \r\n "
    assert logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert petition.demands == []
    assert db.session.scalar(select(func.count()).select_from(Demand)) == 0


def test_demands_with_the_same_position_keep_the_form_order(logged_in, make_petition):
    petition = make_petition(demands=["A", "B"])
    data = edit_data(logged_in, petition, **{"demands-1-position": "1", "demands-2-text": "C"})
    data["demands-2-position"] = ""  # no number: keeps its place in the form
    assert logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert [d.text for d in petition.demands] == ["A", "B", "C"]


def test_invalid_edit_changes_nothing(logged_in, petition):
    data = edit_data(logged_in, petition, title="New title", signature_goal="0")
    response = logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data)
    assert response.status_code == 422
    db.session.expire_all()
    assert petition.title == "Open the borders"
    assert audit_actions() == []


def test_the_slug_changes_while_nobody_signed_and_old_links_then_404(logged_in, petition):
    old = petition.slug
    data = edit_data(logged_in, petition, slug="a-new-address")
    response = logged_in.post(f"/organizer/p/{old}/edit", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/organizer/p/a-new-address/edit"
    assert logged_in.get("/p/a-new-address").status_code == 200
    assert logged_in.get(f"/p/{old}").status_code == 404
    assert audit_actions(petition) == [("edit_call", ["slug"])]


def test_the_slug_is_locked_once_someone_signed(logged_in, petition, make_signature):
    make_signature(petition)
    page = logged_in.get(f"/organizer/p/{petition.slug}/edit").text
    assert "no longer changes" in page
    data = edit_data(logged_in, petition, slug="a-new-address", title="New title")
    response = logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data)
    assert response.status_code == 422
    assert "People have signed this call at its address" in response.text
    db.session.expire_all()
    assert petition.slug == "call-1" and petition.title == "Open the borders"
    assert audit_actions() == []


def test_the_slug_cannot_take_another_calls_address(logged_in, make_petition):
    first = make_petition()
    second = make_petition()
    data = edit_data(logged_in, second, slug=first.slug)
    response = logged_in.post(f"/organizer/p/{second.slug}/edit", data=data)
    assert response.status_code == 422
    assert "Another call already has this address." in response.text
    db.session.expire_all()
    assert second.slug == "call-2"


def test_event_time_zone_round_trip(logged_in, petition):
    # Summer time in Paris is UTC+2, winter time UTC+1.
    data = edit_data(
        logged_in,
        petition,
        timezone="Europe/Paris",
        event_starts_at="2031-07-01T18:30",
        closes_at="2031-12-01T12:00",
    )
    assert logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert petition.event_starts_at == datetime(2031, 7, 1, 16, 30, tzinfo=UTC)
    assert petition.closes_at == datetime(2031, 12, 1, 11, 0, tzinfo=UTC)
    assert petition.event_local_start.strftime("%H:%M") == "18:30"
    page = logged_in.get(f"/organizer/p/{petition.slug}/edit").text
    assert 'value="2031-07-01T18:30"' in page
    assert 'value="2031-12-01T12:00"' in page
    assert '<option selected value="Europe/Paris">' in page
    assert audit_actions(petition) == [("edit_call", ["closes_at", "event_starts_at"])]

    # Another zone: the same wall time is another moment.
    data = edit_data(logged_in, petition, timezone="Asia/Tokyo")
    assert logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert petition.event_timezone == "Asia/Tokyo"
    assert petition.event_starts_at == datetime(2031, 7, 1, 9, 30, tzinfo=UTC)


def test_removing_the_event(logged_in, petition):
    data = edit_data(logged_in, petition, event_starts_at="", event_place="", event_address="")
    assert logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert petition.event_starts_at is None and petition.event_timezone is None
    assert petition.event_place is None and petition.event_address is None


def test_a_zone_from_a_content_file_stays_valid(logged_in, make_petition):
    petition = make_petition(event_timezone="CET")  # not in the list, known to zoneinfo
    data = edit_data(logged_in, petition, title="Still CET")
    assert data["timezone"] == "CET"
    assert logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert petition.event_timezone == "CET" and petition.title == "Still CET"


def test_status_is_not_changed_by_an_edit(logged_in, make_petition):
    petition = make_petition(status=PetitionStatus.CLOSED)
    data = edit_data(logged_in, petition, title="Edited while closed")
    assert logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert petition.status is PetitionStatus.CLOSED


# --- Closing and reopening ---


def test_close_and_reopen(logged_in, client, petition):
    response = logged_in.post(f"/organizer/p/{petition.slug}/close")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organizer/p/{petition.slug}/edit"
    db.session.expire_all()
    assert petition.status is PetitionStatus.CLOSED
    assert petition.closed_at is not None
    assert not petition.is_open()
    page = logged_in.get(f"/organizer/p/{petition.slug}/edit").text
    assert "Reopen the call" in page and "Close the call now" not in page

    # The public forms refuse signatures, with a message.
    sign_page = client.get(f"/p/{petition.slug}/sign")
    assert "This call is closed: it no longer takes signatures." in sign_page.text
    assert 'name="full_name"' not in sign_page.text
    refused = client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE)
    assert refused.status_code == 409
    assert "This call is closed" in refused.text
    assert "This call is closed" in client.get(f"/p/{petition.slug}").text
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 0

    # Closing twice says so and records nothing more.
    again = logged_in.post(f"/organizer/p/{petition.slug}/close")
    assert again.status_code == 302
    assert "already closed" in logged_in.get(again.headers["Location"]).text

    response = logged_in.post(f"/organizer/p/{petition.slug}/reopen")
    assert response.status_code == 302
    db.session.expire_all()
    assert petition.status is PetitionStatus.OPEN and petition.closed_at is None
    assert client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
    assert audit_actions(petition) == [
        ("close_call", ["status", "closed_at"]),
        ("reopen_call", ["status", "closed_at"]),
    ]


def test_reopening_with_a_past_closing_date_warns(logged_in, make_petition):
    petition = make_petition(
        status=PetitionStatus.CLOSED, closes_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    response = logged_in.post(f"/organizer/p/{petition.slug}/reopen")
    assert response.status_code == 302
    page = logged_in.get(response.headers["Location"]).text
    assert "its closing date has passed" in page
    db.session.expire_all()
    assert petition.status is PetitionStatus.OPEN and not petition.is_open()


def test_a_purged_call_does_not_reopen(logged_in, make_petition):
    petition = make_petition(status=PetitionStatus.CLOSED)
    petition.purged_at = datetime(2031, 1, 1, tzinfo=UTC)
    db.session.commit()
    response = logged_in.post(f"/organizer/p/{petition.slug}/reopen")
    assert response.status_code == 302
    assert "cannot reopen" in logged_in.get(response.headers["Location"]).text
    db.session.expire_all()
    assert petition.status is PetitionStatus.CLOSED
    assert audit_actions() == []


def test_close_and_reopen_are_posts_only(logged_in, petition):
    assert logged_in.get(f"/organizer/p/{petition.slug}/close").status_code == 405
    assert logged_in.get(f"/organizer/p/{petition.slug}/reopen").status_code == 405
    db.session.expire_all()
    assert petition.status is PetitionStatus.OPEN


# --- Rights ---


def test_an_organizer_without_rights_gets_403_and_changes_nothing(
    client, make_petition, make_organizer
):
    theirs = make_petition()
    other = make_petition()
    helper = make_organizer("helper@example.org", role="organizer", petitions=[theirs])
    log_in(client, helper)
    assert client.get(f"/organizer/p/{theirs.slug}/edit").status_code == 200
    assert client.get(f"/organizer/p/{other.slug}/edit").status_code == 403
    data = call_data(slug=other.slug, title="Hijacked")
    assert client.post(f"/organizer/p/{other.slug}/edit", data=data).status_code == 403
    assert client.post(f"/organizer/p/{other.slug}/close").status_code == 403
    db.session.expire_all()
    assert other.title == "Open the borders"
    assert other.status is PetitionStatus.OPEN
    other.status = PetitionStatus.CLOSED
    db.session.commit()
    assert client.post(f"/organizer/p/{other.slug}/reopen").status_code == 403
    db.session.expire_all()
    assert other.status is PetitionStatus.CLOSED
    assert client.get("/organizer/p/no-such-call/edit").status_code == 404
    assert audit_actions() == []


def test_anonymous_visitors_are_sent_to_login(client, petition):
    for method, url in (
        ("GET", "/organizer/calls/new"),
        ("POST", "/organizer/calls/new"),
        ("GET", f"/organizer/p/{petition.slug}/edit"),
        ("POST", f"/organizer/p/{petition.slug}/close"),
    ):
        response = client.open(url, method=method, data=call_data())
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/organizer/login")
    assert db.session.scalar(select(func.count()).select_from(Petition)) == 1


def test_csrf_protects_the_editor_and_the_buttons(app, logged_in, petition):
    app.config["WTF_CSRF_ENABLED"] = True
    response = logged_in.post("/organizer/calls/new", data=call_data())
    assert response.status_code == 422
    assert "The form expired" in response.text
    assert logged_in.post(f"/organizer/p/{petition.slug}/close").status_code == 400
    data = call_data(slug=petition.slug, title="Forged")
    assert logged_in.post(f"/organizer/p/{petition.slug}/edit", data=data).status_code == 422
    db.session.expire_all()
    assert petition.status is PetitionStatus.OPEN and petition.title == "Open the borders"
    assert db.session.scalar(select(func.count()).select_from(Petition)) == 1

    # With the page's token, it works.
    page = logged_in.get(f"/organizer/p/{petition.slug}/edit").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = logged_in.post(f"/organizer/p/{petition.slug}/close", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert petition.status is PetitionStatus.CLOSED


# --- The domain functions, without HTTP ---


def test_local_to_utc_reads_wall_clock_times_in_their_zone():
    from petition.petitions import NonexistentLocalTime, local_to_utc

    paris = "Europe/Paris"
    assert local_to_utc(datetime(2030, 7, 1, 12, 0), paris) == datetime(
        2030, 7, 1, 10, 0, tzinfo=UTC
    )
    assert local_to_utc(datetime(2030, 1, 1, 12, 0), paris) == datetime(
        2030, 1, 1, 11, 0, tzinfo=UTC
    )
    with pytest.raises(NonexistentLocalTime):
        local_to_utc(datetime(2030, 3, 31, 2, 30), paris)  # clocks jump from 2:00 to 3:00
    # 2:30 happens twice when clocks go back: the first one (still summer time) is meant.
    assert local_to_utc(datetime(2030, 10, 27, 2, 30), paris) == datetime(
        2030, 10, 27, 0, 30, tzinfo=UTC
    )


def test_clean_markdown_text_keeps_line_breaks():
    from petition.petitions import clean_markdown_text

    assert clean_markdown_text("  \r\nCafe\u0301\r\n\r\n\t- item  \r\n") == "Café\n\n    - item"
    assert clean_markdown_text(None) == ""


def test_create_call_turns_a_slug_race_into_slug_taken(app, organizer, make_petition, monkeypatch):
    """Two organizers choosing the same address at once: the unique index decides."""
    from petition import petitions

    make_petition(slug="same-address")
    monkeypatch.setattr(petitions, "_ensure_slug_free", lambda slug, petition=None: None)
    with pytest.raises(petitions.SlugTaken):
        petitions.create_call(petitions.CallContent(slug="same-address", title="T"), organizer)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Petition)) == 1


def test_edit_call_reports_changes_and_keeps_status_and_retention_apart(app, make_petition):
    from petition import petitions

    petition = make_petition(status=PetitionStatus.CLOSED, demands=["A"])
    content = petitions.CallContent(
        slug=petition.slug,
        title=petition.title,
        summary=petition.summary,
        body=petition.body,
        demands=["A", "B"],
        status=PetitionStatus.OPEN,  # ignored: closing and reopening are separate actions
        event_starts_at=petition.event_starts_at,
        event_timezone=petition.event_timezone,
        event_place=petition.event_place,
        event_address=petition.event_address,
    )
    assert petitions.edit_call(petition, content, purge_after_days=30) == [
        "demands",
        "purge_after_days",
    ]
    assert petition.status is PetitionStatus.CLOSED
    assert petitions.edit_call(petition, content, purge_after_days=30) == []
    # A content file loaded again keeps the retention set in the editor.
    petitions.save_call(content)
    assert petition.purge_after_days == 30
