"""Exports with filters (CSV, JSON Lines), their manifests, the CLI and the hand-over page."""

import contextvars
import csv
import hashlib
import io
import json
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from petition.exports import INDIVIDUAL_COLUMNS, ORGANIZATION_COLUMNS
from petition.extensions import db
from petition.models import (
    AuditEntry,
    EndorsementStatus,
    ExportManifest,
    OrganizationType,
    Signature,
    SignatureSource,
    SignatureStatus,
    utcnow,
)

from .conftest import log_in


def download_url(petition, **filters) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return f"/organizer/p/{petition.slug}/exports/download?{query}"


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.data.startswith("\ufeff".encode())
    header, *rows = csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline=""))
    return [dict(zip(header, row, strict=True)) for row in rows]


def read_jsonl(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.data.decode("utf-8").splitlines()]


def names(rows, key="full_name") -> list[str]:
    return [row[key] for row in rows]


def invalidate(signature) -> None:
    signature.status = SignatureStatus.INVALID
    signature.invalidated_at = utcnow()
    db.session.commit()


def only_manifest() -> ExportManifest:
    db.session.expire_all()
    return db.session.execute(select(ExportManifest)).scalar_one()


@pytest.fixture
def signers(petition, make_signature):
    """One signature per state and kind, named after what makes it differ."""
    made = {
        "confirmed": make_signature(
            petition, confirmed=True, full_name="Confirmed", email="c@x.org"
        ),
        "pending": make_signature(petition, full_name="Pending", email="p@x.org"),
        "invalid": make_signature(petition, confirmed=True, full_name="Invalid", email="i@x.org"),
        "german": make_signature(
            petition, confirmed=True, full_name="German", email="g@x.org", country="DE"
        ),
        "news": make_signature(
            petition, confirmed=True, full_name="News", email="n@x.org", wants_updates=True
        ),
        "paper": make_signature(petition, confirmed=True, full_name="Paper", email="pp@x.org"),
    }
    invalidate(made["invalid"])
    made["paper"].source = SignatureSource.PAPER
    db.session.commit()
    return made


# --- filters: individuals


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["Confirmed", "German", "News", "Paper"]),
        ({"status": "confirmed"}, ["Confirmed", "German", "News", "Paper"]),
        ({"status": "pending"}, ["Pending"]),
        ({"status": "invalid"}, ["Invalid"]),
        ({"status": "all"}, ["Confirmed", "Pending", "Invalid", "German", "News", "Paper"]),
        ({"country": "DE"}, ["German"]),
        ({"country": "FR"}, ["Confirmed", "News", "Paper"]),
        ({"wants_updates": "y"}, ["News"]),
        ({"source": "paper"}, ["Paper"]),
        ({"source": "web", "status": "all"}, ["Confirmed", "Pending", "Invalid", "German", "News"]),
        ({"source": "import"}, []),
    ],
)
def test_individual_filters(logged_in, petition, signers, filters, expected):
    rows = read_csv(logged_in.get(download_url(petition, who="individuals", **filters)))
    assert names(rows) == expected


def test_invalid_signatures_are_only_exported_when_asked_for(logged_in, petition, signers):
    for fmt in ("csv", "jsonl"):
        response = logged_in.get(download_url(petition, format=fmt))
        assert b"Invalid" not in response.data and b"i@x.org" not in response.data
        assert b"Confirmed" in response.data
    rows = read_csv(logged_in.get(download_url(petition, status="invalid")))
    assert [(r["full_name"], r["status"]) for r in rows] == [("Invalid", "invalid")]


def test_date_range_is_inclusive_whole_utc_days(logged_in, petition, make_signature):
    moments = {
        "Before": datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
        "First day": datetime(2024, 3, 1, 0, 0, tzinfo=UTC),
        "Last day": datetime(2024, 3, 2, 23, 59, 59, tzinfo=UTC),
        "After": datetime(2024, 3, 3, 0, 0, tzinfo=UTC),
    }
    for name, moment in moments.items():
        signature = make_signature(
            petition, confirmed=True, full_name=name, email=f"{moment:%s}@x.org"
        )
        signature.signed_at = moment
    db.session.commit()

    rows = read_csv(logged_in.get(download_url(petition, since="2024-03-01", until="2024-03-02")))
    assert names(rows) == ["First day", "Last day"]
    assert names(read_csv(logged_in.get(download_url(petition, since="2024-03-02")))) == [
        "Last day",
        "After",
    ]
    assert names(read_csv(logged_in.get(download_url(petition, until="2024-02-29")))) == ["Before"]
    one_day = read_csv(
        logged_in.get(download_url(petition, since="2024-03-01", until="2024-03-01"))
    )
    assert names(one_day) == ["First day"]


# --- filters: organizations


@pytest.fixture
def endorsers(petition, make_endorsement):
    made = {}
    for status in EndorsementStatus:
        made[status.value] = make_endorsement(
            petition,
            status=status,
            organization=f"Org {status.value}",
            contact_email=f"{status.value}@x.org",
        )
    made["union"] = make_endorsement(
        petition,
        status=EndorsementStatus.APPROVED,
        organization="Union",
        contact_email="union@x.org",
        org_type=OrganizationType.TRADE_UNION,
        country="BE",
    )
    return made


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["Org approved", "Union"]),
        ({"status": "approved"}, ["Org approved", "Union"]),
        ({"status": "awaiting_approval"}, ["Org awaiting_approval"]),
        ({"status": "pending"}, ["Org pending"]),
        ({"status": "rejected"}, ["Org rejected"]),
        (
            {"status": "all"},
            ["Org pending", "Org awaiting_approval", "Org approved", "Org rejected", "Union"],
        ),
        ({"org_type": "trade_union"}, ["Union"]),
        ({"org_type": "collective"}, ["Org approved"]),
        ({"country": "BE"}, ["Union"]),
    ],
)
def test_organization_filters(logged_in, petition, endorsers, filters, expected):
    rows = read_csv(logged_in.get(download_url(petition, who="organizations", **filters)))
    assert names(rows, "organization") == expected


def test_organizations_by_endorsement_date(logged_in, petition, endorsers):
    endorsers["union"].endorsed_at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    db.session.commit()
    rows = read_csv(
        logged_in.get(
            download_url(petition, who="organizations", since="2024-05-01", until="2024-05-01")
        )
    )
    assert names(rows, "organization") == ["Union"]


# --- formats


def test_csv_and_json_lines_hold_the_same_rows(logged_in, petition, make_signature):
    make_signature(
        petition,
        confirmed=True,
        full_name="Zoë Ünal-Þórsdóttir",
        email="zoe@x.org",
        affiliation='=HYPERLINK("evil")',
        city="Łódź",
        country="PL",
        wants_updates=True,
    )
    make_signature(petition, confirmed=True, full_name="Amina", email="amina@x.org")
    as_csv = read_csv(logged_in.get(download_url(petition, format="csv")))
    response = logged_in.get(download_url(petition, format="jsonl"))
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["Content-Disposition"].endswith('.jsonl"')
    assert not response.data.startswith("\ufeff".encode())
    assert "Zoë".encode() in response.data  # UTF-8, not \u escapes
    as_json = read_jsonl(response)

    assert [list(row) for row in as_csv] == [list(INDIVIDUAL_COLUMNS)] * 2
    assert [list(record) for record in as_json] == [list(INDIVIDUAL_COLUMNS)] * 2
    zoe_csv, zoe_json = as_csv[0], as_json[0]
    assert zoe_json["affiliation"] == '=HYPERLINK("evil")'  # JSON is no spreadsheet
    assert zoe_csv["affiliation"] == "'" + zoe_json["affiliation"]
    assert zoe_json["wants_updates"] is True and zoe_csv["wants_updates"] == "yes"
    assert zoe_json["status"] == "confirmed" and zoe_json["source"] == "web"
    assert zoe_json["country_name"] == "Poland"
    for csv_row, record in zip(as_csv, as_json, strict=True):
        assert csv_row["signed_at"] == record["signed_at"]
        assert record["signed_at"].endswith("Z")
        datetime.fromisoformat(record["confirmed_at"])
        for key in ("full_name", "email", "city", "country", "status", "source"):
            assert csv_row[key] == record[key]


def test_organizations_in_json_lines(logged_in, petition, endorsers):
    records = read_jsonl(logged_in.get(download_url(petition, who="organizations", format="jsonl")))
    assert [list(record) for record in records] == [list(ORGANIZATION_COLUMNS)] * 2
    assert records[1]["org_type"] == "trade_union" and records[1]["approved_at"].endswith("Z")


def test_an_empty_json_lines_export_is_empty(logged_in, petition):
    response = logged_in.get(download_url(petition, format="jsonl"))
    assert response.status_code == 200 and response.data == b""
    assert only_manifest().row_count == 0


# --- manifests


def test_the_manifest_describes_the_download(logged_in, organizer, petition, signers):
    signers["german"].signed_at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    signers["news"].signed_at = datetime(2024, 1, 9, 10, 11, 12, tzinfo=UTC)
    db.session.commit()
    response = logged_in.get(
        download_url(petition, since="2024-01-01", until="2024-01-31", format="jsonl")
    )
    assert len(read_jsonl(response)) == 2

    manifest = only_manifest()
    assert manifest.finished_at is not None
    assert manifest.sha256 == hashlib.sha256(response.data).hexdigest()
    assert manifest.row_count == 2
    assert manifest.actor == organizer.email and manifest.organizer_id == organizer.id
    assert (manifest.who, manifest.format) == ("individuals", "jsonl")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{manifest.filename}"'
    assert manifest.filters == {
        "status": "confirmed",
        "since": "2024-01-01",
        "until": "2024-01-31",
        "window": {"first": "2024-01-02T03:04:05Z", "last": "2024-01-09T10:11:12Z"},
    }
    assert response.headers["Link"] == (
        f'<http://petitions.example.org/organizer/exports/{manifest.id}.json>; rel="describedby"'
    )

    document = logged_in.get(f"/organizer/exports/{manifest.id}.json")
    assert document.status_code == 200 and "no-store" in document.headers["Cache-Control"]
    assert document.json == {
        "manifest": manifest.id,
        "call": petition.slug,
        "who": "individuals",
        "format": "jsonl",
        "filename": manifest.filename,
        "filters": {"status": "confirmed", "since": "2024-01-01", "until": "2024-01-31"},
        "window": {"first": "2024-01-02T03:04:05Z", "last": "2024-01-09T10:11:12Z"},
        "row_count": 2,
        "sha256": hashlib.sha256(response.data).hexdigest(),
        "exported_by": organizer.email,
        "started_at": manifest.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_at": manifest.finished_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "complete": True,
    }
    page = logged_in.get(f"/organizer/exports/{manifest.id}")
    assert page.status_code == 200
    assert manifest.sha256 in page.text and manifest.filename in page.text
    assert "2024-01-02T03:04:05Z" in page.text
    assert "c@x.org" not in page.text


def test_a_csv_manifest_hashes_every_byte(logged_in, petition, signers):
    response = logged_in.get(download_url(petition))
    manifest = only_manifest()
    assert manifest.row_count == len(read_csv(response)) == 4
    assert manifest.sha256 == hashlib.sha256(response.data).hexdigest()


def test_every_export_is_in_the_audit_log(logged_in, organizer, petition, signers):
    logged_in.get(download_url(petition, country="DE", format="jsonl"))
    manifest = only_manifest()
    entry = db.session.execute(select(AuditEntry).filter_by(action="export")).scalar_one()
    assert entry.subject == f"export {manifest.id}"
    assert entry.petition_id == petition.id and entry.actor == organizer.email
    assert entry.details == {
        "who": "individuals",
        "format": "jsonl",
        "filters": {"status": "confirmed", "country": "DE"},
    }
    assert "German" not in json.dumps(entry.details)


def test_an_interrupted_download_leaves_the_manifest_unfinished(logged_in, petition, signers):
    # Not buffered: the body is read as a browser would, then abandoned after one piece.
    context = contextvars.Context()
    response = context.run(FlaskClient.open, logged_in, download_url(petition))
    assert response.status_code == 200
    chunks = iter(response.response)
    assert context.run(next, chunks).startswith("\ufeff".encode())
    context.run(response.close)

    manifest = only_manifest()
    assert manifest.finished_at is None and manifest.sha256 is None and manifest.row_count is None
    assert db.session.scalar(select(AuditEntry.subject).filter_by(action="export")) == (
        f"export {manifest.id}"
    )
    page = logged_in.get(f"/organizer/p/{petition.slug}/exports")
    assert "unfinished" in page.text
    assert logged_in.get(f"/organizer/exports/{manifest.id}.json").json["complete"] is False


def test_the_export_page_lists_past_exports(logged_in, petition, signers):
    page = logged_in.get(f"/organizer/p/{petition.slug}/exports")
    assert page.status_code == 200 and "No export yet." in page.text
    assert f'action="/organizer/p/{petition.slug}/exports/download"' in page.text
    logged_in.get(download_url(petition, who="organizations", format="jsonl"))
    manifest = only_manifest()
    page = logged_in.get(f"/organizer/p/{petition.slug}/exports")
    assert f'href="/organizer/exports/{manifest.id}"' in page.text
    assert "organizer@example.org" in page.text and "jsonl" in page.text


def test_the_dashboard_csv_links_go_through_the_same_export(logged_in, petition, signers):
    response = logged_in.get(f"/organizer/p/{petition.slug}/export/individuals.csv?all=1")
    rows = read_csv(response)
    assert len(rows) == 6 and "Invalid" in names(rows)
    manifest = only_manifest()
    assert manifest.filters["status"] == "all" and manifest.row_count == 6
    assert manifest.sha256 == hashlib.sha256(response.data).hexdigest()
    assert f"/organizer/exports/{manifest.id}.json" in response.headers["Link"]


# --- bad filters


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"since": "2024-03-02", "until": "2024-03-01"}, "The end date must be on or after"),
        ({"since": "yesterday"}, "Enter a date as YYYY-MM-DD."),
        ({"until": "2024-02-30"}, "Enter a date as YYYY-MM-DD."),
        ({"country": "XX"}, "Please choose from the list."),
        ({"country": "fr"}, "Please choose from the list."),
        ({"who": "everyone"}, "Please choose from the list."),
        ({"format": "xlsx"}, "Please choose from the list."),
        ({"status": "approved"}, "This status is not one of individuals."),
        ({"who": "organizations", "status": "invalid"}, "This status is not one of organizations."),
        ({"who": "organizations", "wants_updates": "y"}, "Only individuals ask for news."),
        ({"who": "organizations", "source": "paper"}, "Only individuals have a source."),
        ({"org_type": "media"}, "Only organizations have a type."),
        ({"source": "carrier-pigeon"}, "Please choose from the list."),
    ],
)
def test_bad_filters_are_refused_with_a_message(logged_in, petition, signers, filters, message):
    response = logged_in.get(download_url(petition, **filters))
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert message in response.text
    assert b"c@x.org" not in response.data
    assert db.session.scalar(select(ExportManifest.id)) is None
    assert db.session.scalar(select(AuditEntry.id).filter_by(action="export")) is None


# --- rights


def routes(petition, manifest_id):
    return [
        f"/organizer/p/{petition.slug}/exports",
        download_url(petition),
        f"/organizer/p/{petition.slug}/handover",
        f"/organizer/exports/{manifest_id}",
        f"/organizer/exports/{manifest_id}.json",
    ]


def test_organizers_without_rights_on_the_call_are_refused(
    client, organizer, make_organizer, make_petition, petition, signers
):
    other_call = make_petition()
    outsider = make_organizer("outsider@example.org", petitions=[other_call])
    log_in(client, organizer)
    client.get(download_url(petition))
    manifest_id = only_manifest().id
    client.post("/organizer/logout")

    log_in(client, outsider)
    for url in routes(petition, manifest_id):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"c@x.org" not in response.data and b"Confirmed" not in response.data
    assert (
        db.session.scalar(select(ExportManifest.id).where(ExportManifest.id != manifest_id)) is None
    )
    assert db.session.scalar(select(AuditEntry.id).filter_by(action="handover")) is None
    assert client.get(f"/organizer/p/{other_call.slug}/exports").status_code == 200


def test_organizers_with_rights_on_the_call_may_export(client, make_organizer, petition, signers):
    helper = make_organizer("helper@example.org", petitions=[petition])
    log_in(client, helper)
    assert client.get(download_url(petition)).status_code == 200
    manifest = only_manifest()
    assert manifest.actor == "helper@example.org"
    for url in routes(petition, manifest.id):
        assert client.get(url).status_code == 200, url


def test_an_unknown_manifest_is_not_found(logged_in):
    assert logged_in.get("/organizer/exports/999").status_code == 404
    assert logged_in.get("/organizer/exports/999.json").status_code == 404


# --- command line


def test_cli_export_with_filters_writes_a_manifest(runner, tmp_path, petition, signers):
    output = tmp_path / "news.jsonl"
    result = runner.invoke(
        args=[
            "export",
            petition.slug,
            "--format",
            "jsonl",
            "--wants-updates",
            "--country",
            "FR",
            "--since",
            "2000-01-01",
            "-o",
            str(output),
        ]
    )
    assert result.exit_code == 0, result.output
    data = output.read_bytes()
    assert [record["full_name"] for record in map(json.loads, data.splitlines())] == ["News"]

    manifest_file = tmp_path / "news.jsonl.manifest.json"
    document = json.loads(manifest_file.read_text(encoding="utf-8"))
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    assert document["row_count"] == 1 and document["complete"] is True
    assert document["filters"] == {
        "status": "confirmed",
        "since": "2000-01-01",
        "country": "FR",
        "wants_updates": True,
    }
    assert document["exported_by"] == "command line"
    manifest = only_manifest()
    assert manifest.id == document["manifest"] and manifest.sha256 == document["sha256"]
    entry = db.session.execute(select(AuditEntry).filter_by(action="export")).scalar_one()
    assert entry.actor == "command line" and entry.subject == f"export {manifest.id}"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--status", "invalid"], ["Invalid"]),
        (["--status", "all", "--source", "paper"], ["Paper"]),
        (["--until", "2000-01-01"], []),
        (["--country", "de"], ["German"]),
    ],
)
def test_cli_export_filters(runner, petition, signers, options, expected):
    result = runner.invoke(args=["export", petition.slug, *options])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows[1:]] == expected


def test_cli_organizations_by_type(runner, petition, endorsers):
    result = runner.invoke(
        args=["export", petition.slug, "--who", "organizations", "--org-type", "trade_union"]
    )
    assert result.exit_code == 0, result.output
    assert "Union" in result.stdout and "Org approved" not in result.stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--since", "2024-03-02", "--until", "2024-03-01"], "--until: The end date"),
        (["--country", "XX"], "--country: Unknown country."),
        (["--status", "approved"], "--status: This status is not one of individuals."),
        (["--since", "03/02/2024"], "Invalid value for '--since'"),
        (["--who", "organizations", "--wants-updates"], "Only individuals ask for news."),
        (["--status", "pending", "--all-statuses"], "disagree"),
    ],
)
def test_cli_refuses_bad_filters(runner, tmp_path, petition, options, message):
    output = tmp_path / "out.csv"
    result = runner.invoke(args=["export", petition.slug, *options, "-o", str(output)])
    assert result.exit_code == 2
    assert message in result.output
    assert not output.exists()
    assert db.session.scalar(select(ExportManifest.id)) is None


# --- hand-over


def test_the_handover_page_lists_only_who_agreed_to_be_shown(
    logged_in, petition, make_signature, make_endorsement
):
    make_signature(petition, confirmed=True, full_name="Shown Signer", email="shown@x.org")
    make_signature(
        petition,
        confirmed=True,
        full_name="Private Signer",
        email="private@x.org",
        show_publicly=False,
    )
    hidden = make_signature(petition, confirmed=True, full_name="Hidden Signer", email="h@x.org")
    hidden.hidden = True
    db.session.commit()
    invalidate(
        make_signature(petition, confirmed=True, full_name="Invalid Signer", email="i@x.org")
    )
    make_signature(petition, full_name="Pending Signer", email="pending@x.org")
    make_endorsement(petition, status=EndorsementStatus.APPROVED, organization="Shown Org")
    make_endorsement(
        petition,
        status=EndorsementStatus.APPROVED,
        organization="Quiet Org",
        contact_email="quiet@x.org",
        show_publicly=False,
    )
    make_endorsement(
        petition,
        status=EndorsementStatus.AWAITING_APPROVAL,
        organization="Waiting Org",
        contact_email="waiting@x.org",
    )

    response = logged_in.get(f"/organizer/p/{petition.slug}/handover")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "no-store" in response.headers["Cache-Control"]
    page = response.text
    assert petition.title in page
    assert "<strong>freedom of movement</strong>" in page  # the call's Markdown, rendered
    assert "Papers for all" in page and "Close the camps" in page
    assert "Place d’Armes" in page
    assert "Shown Signer" in page and "Shown Org" in page
    for absent in ("Private Signer", "Hidden Signer", "Invalid Signer", "Pending Signer"):
        assert absent not in page
    assert "Quiet Org" not in page and "Waiting Org" not in page
    assert "@x.org" not in page and "@example.org" not in page.replace("organizer@example.org", "")
    assert "Handed over on" in page

    entry = db.session.execute(select(AuditEntry).filter_by(action="handover")).scalar_one()
    assert entry.petition_id == petition.id
    # Confirmed individuals: shown, private and hidden (the invalid one no longer counts).
    assert entry.details == {
        "individuals": 3,
        "individuals_shown": 1,
        "organizations": 2,
        "organizations_shown": 1,
    }


def test_the_handover_page_is_streamed(logged_in, petition):
    now = utcnow()
    db.session.execute(
        Signature.__table__.insert(),
        [
            {
                "petition_id": petition.id,
                "full_name": f"Signer {n}",
                "email": f"s{n}@example.org",
                "email_normalized": f"s{n}@example.org",
                "city": "Calais",
                "country": "FR",
                "show_publicly": True,
                "hidden": False,
                "wants_updates": False,
                "status": "confirmed",
                "source": "web",
                "signed_at": now,
                "confirmed_at": now,
                "consent_at": now,
                "privacy_notice_version": "v",
                "token_key": f"{n:032d}",
                "mails_sent": 0,
            }
            for n in range(1500)
        ],
    )
    db.session.commit()
    response = logged_in.get(f"/organizer/p/{petition.slug}/handover")
    chunks = list(response.response)
    assert len(chunks) >= 3  # sent in pieces as the rows are read
    page = b"".join(chunks).decode()
    assert page.count("<li>Signer ") == 1500 and page.rstrip().endswith("</html>")
    assert "s1@example.org" not in page
