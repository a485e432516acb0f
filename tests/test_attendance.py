"""The "I will attend the rally" box: form, storage, campaign counts, exports, imports, API."""

import csv
import html
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from petition import imports, moderation, signing
from petition.extensions import db
from petition.models import ExportManifest, Signature, SignatureSource, utcnow

from .conftest import signature_fields

RALLY = datetime(2030, 10, 14, 14, 0, tzinfo=UTC)  # the fixture's: 16:00 in Paris
NO_RALLY = {
    "event_starts_at": None,
    "event_timezone": None,
    "event_place": None,
    "event_address": None,
}
CHECKBOX = 'name="will_attend"'


def text_of(response) -> str:
    """The page as text, tags removed and spaces squeezed."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split()))


def form_data(**overrides) -> dict:
    """A valid individual form, consent given."""
    return {**signature_fields(), "consent": "y", **overrides}


def stored(email: str = "amina@example.org") -> Signature:
    db.session.expire_all()
    return db.session.execute(select(Signature).filter_by(email=email)).scalar_one()


def sign(petition, email, *, will_attend, confirmed=True):
    fields = signature_fields(email=email, full_name=email.partition("@")[0])
    signature = signing.sign(petition, **fields, will_attend=will_attend)
    if confirmed:
        signing.confirm(signature)
    db.session.commit()
    return signature


# --- The form


def test_the_form_asks_while_the_rally_is_to_come(client, petition):
    response = client.get(f"/p/{petition.slug}/sign")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # Unticked, labelled with the rally's local day, time and place, in its own fieldset.
    assert re.search(r'<input aria-describedby="will_attend-hint" id="will_attend" [^>]*>', page)
    assert "checked" not in re.search(r'<input[^>]*id="will_attend"[^>]*>', page).group(0)
    assert re.search(
        r'<label for="will_attend">I will attend the rally on Monday, October 14, 2030 '
        r"at 4:00\sPM France Time, <bdi>Place d’Armes</bdi></label>",
        page,
    )
    assert re.search(r"<legend>The rally</legend>\s*<div", page)
    assert 'id="will_attend-hint">Optional. Only the organizers see it' in page


def test_the_label_is_in_the_readers_language(client, petition):
    response = client.get(f"/p/{petition.slug}/sign", headers={"Accept-Language": "fr"})
    assert "Je participerai au rassemblement le lundi 14 octobre 2030 à 16:00" in text_of(response)


def test_a_rally_without_a_place_is_named_by_its_time(client, make_petition):
    petition = make_petition(event_place=None, event_address=None)
    page = text_of(client.get(f"/p/{petition.slug}/sign"))
    assert re.search(
        r"I will attend the rally on Monday, October 14, 2030 at 4:00\sPM France Time Optional",
        page,
    )


@pytest.mark.parametrize(
    "rally",
    [NO_RALLY, {"event_starts_at": utcnow() - timedelta(minutes=1)}],
    ids=["no rally", "rally started"],
)
def test_no_question_without_a_rally_to_come(client, make_petition, rally):
    petition = make_petition(**rally)
    response = client.get(f"/p/{petition.slug}/sign")
    assert response.status_code == 200
    assert CHECKBOX not in response.get_data(as_text=True)
    assert "The rally" not in text_of(response)
    # A forged field is not read: the signature says no.
    response = client.post(f"/p/{petition.slug}/sign", data=form_data(will_attend="y"))
    assert response.status_code == 302
    assert stored().will_attend is False


@pytest.mark.parametrize(("ticked", "expected"), [({"will_attend": "y"}, True), ({}, False)])
def test_the_answer_is_stored_with_the_signature(client, petition, ticked, expected):
    response = client.post(f"/p/{petition.slug}/sign", data=form_data(**ticked))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/p/{petition.slug}/check-your-email")
    assert stored().will_attend is expected


def test_the_box_stays_ticked_when_the_form_comes_back_with_an_error(client, petition):
    response = client.post(
        f"/p/{petition.slug}/sign", data=form_data(will_attend="y", email="amina@example")
    )
    assert response.status_code == 422
    assert "checked" in re.search(r'<input[^>]*id="will_attend"[^>]*>', response.text).group(0)
    assert db.session.scalar(select(Signature.id)) is None


def test_the_domain_asks_only_before_the_rally_starts(make_petition):
    petition = make_petition()
    assert signing.asks_attendance(petition, now=RALLY - timedelta(seconds=1)) is True
    assert signing.asks_attendance(petition, now=RALLY) is False
    assert signing.asks_attendance(make_petition(**NO_RALLY)) is False
    # The domain checks too, whoever calls it.
    late = signing.sign(
        petition, **signature_fields(), will_attend=True, now=RALLY + timedelta(hours=1)
    )
    assert late.will_attend is False


@pytest.mark.parametrize("first", [True, False])
def test_signing_again_does_not_change_the_answer(client, petition, first):
    """Whoever types an address has not proven it is theirs: a repeat changes nothing."""
    signing.sign(petition, **signature_fields(), will_attend=first)
    db.session.commit()
    repeat = form_data(will_attend="y") if not first else form_data()
    assert client.post(f"/p/{petition.slug}/sign", data=repeat).status_code == 302
    signature = stored()
    assert signature.will_attend is first
    assert signature.mails_sent == 2  # the repeat was taken in: it re-sent the link


# --- The campaign page: counts for organizers only


def test_the_campaign_page_counts_who_will_attend_by_status(logged_in, client, petition):
    sign(petition, "a@example.org", will_attend=True)
    sign(petition, "b@example.org", will_attend=True)
    sign(petition, "c@example.org", will_attend=False)
    sign(petition, "d@example.org", will_attend=True, confirmed=False)
    sign(petition, "e@example.org", will_attend=False, confirmed=False)
    spam = sign(petition, "f@example.org", will_attend=True)
    moderation.invalidate(spam)
    db.session.commit()

    response = logged_in.get(f"/organizer/p/{petition.slug}/campaign")
    assert response.status_code == 200
    page = text_of(response)
    assert "Will attend Confirmed signatures 2 Waiting for email confirmation 1" in page
    # The public page says nothing of it.
    public = client.get(f"/p/{petition.slug}").get_data(as_text=True)
    assert "attend" not in public.lower() and "attendance" not in public


def test_no_attendance_figures_for_a_call_without_a_rally(logged_in, make_petition):
    petition = make_petition(**NO_RALLY)
    response = logged_in.get(f"/organizer/p/{petition.slug}/campaign")
    assert response.status_code == 200
    assert "attendance-counts" not in response.get_data(as_text=True)
    assert "Will attend" not in text_of(response)


# --- Exports


def download(client, petition, **filters):
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return client.get(f"/organizer/p/{petition.slug}/exports/download?{query}")


@pytest.fixture
def attendees(petition):
    sign(petition, "going@example.org", will_attend=True)
    sign(petition, "staying@example.org", will_attend=False)
    sign(petition, "pending@example.org", will_attend=True, confirmed=False)


def test_exports_have_a_will_attend_column(logged_in, petition, attendees):
    response = download(logged_in, petition)
    header, *rows = csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline=""))
    assert header.index("will_attend") == header.index("wants_updates") + 1
    answers = {row[header.index("email")]: row[header.index("will_attend")] for row in rows}
    assert answers == {"going@example.org": "yes", "staying@example.org": "no"}

    response = download(logged_in, petition, format="jsonl")
    records = [json.loads(line) for line in response.data.decode().splitlines()]
    assert {r["email"]: r["will_attend"] for r in records} == {
        "going@example.org": True,
        "staying@example.org": False,
    }


def test_the_filter_keeps_those_who_will_attend_and_the_manifest_says_so(
    logged_in, petition, attendees
):
    response = download(logged_in, petition, will_attend="y", status="all")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert sorted(row["email"] for row in rows) == ["going@example.org", "pending@example.org"]
    manifest = db.session.execute(select(ExportManifest)).scalar_one()
    assert manifest.filters["will_attend"] is True and manifest.row_count == 2
    document = logged_in.get(f"/organizer/exports/{manifest.id}.json").get_json()
    assert document["filters"] == {"status": "all", "will_attend": True}
    page = text_of(logged_in.get(f"/organizer/exports/{manifest.id}"))
    assert "will_attend : True" in page


def test_the_export_form_offers_the_filter(logged_in, petition):
    page = text_of(logged_in.get(f"/organizer/p/{petition.slug}/exports"))
    assert "Only individuals who said they will attend the rally" in page


def test_organizations_have_no_attendance_filter(logged_in, petition):
    response = download(logged_in, petition, who="organizations", will_attend="y")
    assert response.status_code == 422
    assert "Only individuals say whether they will attend." in text_of(response)
    assert db.session.scalar(select(ExportManifest.id)) is None


def test_cli_export_filter(runner, tmp_path, petition, attendees):
    output = tmp_path / "going.csv"
    result = runner.invoke(args=["export", petition.slug, "--will-attend", "-o", str(output)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(output.read_text("utf-8-sig"), newline="")))
    assert [(row["email"], row["will_attend"]) for row in rows] == [("going@example.org", "yes")]
    manifest = json.loads((tmp_path / "going.csv.manifest.json").read_text("utf-8"))
    assert manifest["filters"] == {"status": "confirmed", "will_attend": True}

    refused = runner.invoke(
        args=["export", petition.slug, "--who", "organizations", "--will-attend"]
    )
    assert refused.exit_code == 2
    assert "--will-attend: Only individuals say whether they will attend." in refused.output


# --- Imports


def import_rows(petition, answers: list[str]):
    lines = ["full_name,city,country,will_attend\r\n"] + [
        f"Person {number},Calais,FR,{answer}\r\n" for number, answer in enumerate(answers)
    ]
    return imports.import_signatures(petition, lines, source=SignatureSource.PAPER)


def test_import_reads_will_attend(petition):
    answers = ["yes", "no", "true", "false", "1", "0", "oui", "non", "", "YES", " Oui "]
    report = import_rows(petition, answers)
    assert report.stored == len(answers) and not report.problems
    db.session.commit()
    stored_answers = db.session.execute(
        select(Signature.will_attend).order_by(Signature.id)
    ).scalars()
    assert list(stored_answers) == [True, False, True, False, True, False, True, False] + [
        False,
        True,
        True,
    ]


@pytest.mark.parametrize("answer", ["maybe", "2", "y"])
def test_import_refuses_other_answers(petition, answer):
    report = import_rows(petition, ["yes", answer])
    assert report.stored == 0 and report.rejected_rows == 1
    (problem,) = report.problems
    assert (problem.row, problem.field, problem.column) == (3, "will_attend", "will_attend")
    assert problem.message == "Write yes or no (or true/false, 1/0, oui/non)."
    assert db.session.scalar(select(Signature.id)) is None


def test_the_import_template_and_page_name_the_column(logged_in, petition):
    assert "will_attend" in imports.template_csv().decode("utf-8-sig").split(",")
    page = text_of(logged_in.get(f"/organizer/p/{petition.slug}/import"))
    assert "will_attend Optional: whether the signer will attend the rally" in page
    assert "Will attend the rally" in page  # its column mapping


def test_an_export_imports_back_with_its_answers(logged_in, petition, make_petition, attendees):
    exported = download(logged_in, petition).data.decode("utf-8-sig")
    other = make_petition()
    report = imports.import_signatures(
        other,
        exported.splitlines(keepends=True),
        mapping=imports.PRESETS["export"],
        source=SignatureSource.IMPORT,
    )
    assert report.stored == 2, report.problems
    db.session.commit()
    answers = db.session.execute(
        select(Signature.email, Signature.will_attend).where(Signature.petition_id == other.id)
    ).all()
    assert sorted(answers) == [("going@example.org", True), ("staying@example.org", False)]


# --- The public API


def test_the_api_does_not_leak_it(client, petition):
    sign(petition, "going@example.org", will_attend=True)
    for path in ("signers", "countries", ""):
        response = client.get(f"/api/v1/calls/{petition.slug}/{path}".rstrip("/"))
        assert response.status_code == 200
        assert "attend" not in response.get_data(as_text=True)
    (entry,) = client.get(f"/api/v1/calls/{petition.slug}/signers").get_json()["items"]
    assert set(entry) == {"full_name", "city", "country"}
