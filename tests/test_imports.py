"""Importing signatures from CSV files: paper collections and other petition tools."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from petition import imports, queries
from petition.exports import csv_lines
from petition.extensions import db
from petition.models import (
    NAME_MAX,
    AuditEntry,
    Signature,
    SignatureSource,
    SignatureStatus,
)

from .conftest import log_in
from .helpers import organizers_actions

HEADER = imports.FIELDS
GOOD = {
    "full_name": "Amina Diallo",
    "email": "amina@example.org",
    "city": "Calais",
    "country": "FR",
    "affiliation": "",
    "show_publicly": "yes",
    "wants_updates": "no",
    "signed_on": "2024-05-01",
}


def row(**overrides) -> dict:
    """A valid row of our template, with some cells changed."""
    return {**GOOD, **overrides}


def csv_text(rows, header=HEADER, separator=",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    writer.writerow(header)
    for cells in rows:
        writer.writerow(
            [cells.get(name, "") for name in header] if isinstance(cells, dict) else cells
        )
    return buffer.getvalue()


def csv_bytes(rows, header=HEADER, separator=",", encoding="utf-8-sig") -> bytes:
    return csv_text(rows, header, separator).encode(encoding)


def upload(client, petition, content: bytes, filename="signatures.csv", **fields):
    data = {"file": (io.BytesIO(content), filename), "source": "paper", "store": "Import"}
    data.update(fields)
    return client.post(
        f"/organizer/p/{petition.slug}/import", data=data, content_type="multipart/form-data"
    )


def signatures(petition) -> list[Signature]:
    return list(
        db.session.scalars(
            select(Signature).where(Signature.petition_id == petition.id).order_by(Signature.id)
        )
    )


def signature_count(petition) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Signature).where(Signature.petition_id == petition.id)
    )


def page(response) -> str:
    return response.get_data(as_text=True)


# --- the template and the page ---


def test_template_download(logged_in, petition):
    response = logged_in.get(f"/organizer/p/{petition.slug}/import/template.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert response.data[3:].decode() == (
        "full_name,email,city,country,affiliation,show_publicly,wants_updates,will_attend,"
        "signed_on\r\n"
    )


def test_import_page_documents_the_columns(logged_in, petition):
    response = logged_in.get(f"/organizer/p/{petition.slug}/import")
    assert response.status_code == 200
    text = page(response)
    for name in HEADER:
        assert f"<code>{name}</code>" in text
    assert 'enctype="multipart/form-data"' in text
    assert f"/organizer/p/{petition.slug}/import/template.csv" in text


def test_presets_fill_in_the_columns(logged_in, petition):
    text = page(logged_in.get(f"/organizer/p/{petition.slug}/import?preset=first_last"))
    assert 'value="first_name + last_name"' in text
    text = page(logged_in.get(f"/organizer/p/{petition.slug}/import?preset=export"))
    assert 'value="signed_at"' in text
    assert '<option selected value="import">' in text


# --- storing ---


def test_a_valid_file_is_stored_confirmed_without_mail(logged_in, petition, mails):
    before = queries.count_signatories(petition).individuals
    content = csv_bytes(
        [
            row(),
            row(full_name="Jean Martin", email="", city="Lille", show_publicly="", signed_on=""),
        ]
    )
    response = upload(logged_in, petition, content)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organizer/p/{petition.slug}"
    assert "2 signatures imported." in page(logged_in.get(response.headers["Location"]))
    amina, jean = signatures(petition)
    assert amina.source is SignatureSource.PAPER and amina.status is SignatureStatus.CONFIRMED
    assert amina.email == "amina@example.org" and amina.email_normalized == "amina@example.org"
    assert amina.show_publicly is True and amina.wants_updates is False
    assert amina.signed_at == datetime(2024, 5, 1, tzinfo=UTC) == amina.consent_at
    assert amina.confirmed_at is not None and amina.privacy_notice_version == "paper"
    assert jean.email is None and jean.email_normalized is None and jean.show_publicly is False
    assert jean.signed_at == jean.confirmed_at  # no date: the import time
    assert len(amina.token_key) == 32 and amina.token_key != jean.token_key
    assert amina.mails_sent == 0 and not mails
    assert queries.count_signatories(petition).individuals == before + 2


def test_the_import_is_audited_without_personal_data(logged_in, petition, organizer):
    upload(
        logged_in, petition, csv_bytes([row(), row(email="b@example.org")]), filename="march.csv"
    )
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
    assert entry.organizer_id == organizer.id and entry.petition_id == petition.id
    assert entry.details["source"] == "paper"
    assert entry.details["rows"] == 2 and entry.details["stored"] == 2
    assert entry.details["rejected"] == 0 and entry.details["filename"] == "march.csv"
    assert "amina" not in str(entry.details).lower() and "Diallo" not in str(entry.details)


def test_the_same_file_is_not_imported_twice(logged_in, petition):
    content = csv_bytes([row(email="")])
    assert upload(logged_in, petition, content).status_code == 302
    response = upload(logged_in, petition, content)
    assert response.status_code == 422
    assert "This same file was already imported" in page(response)
    assert signature_count(petition) == 1


def test_semicolon_separator(logged_in, petition):
    content = csv_bytes([row(city="Saint-Denis; Nord")], separator=";")
    assert upload(logged_in, petition, content).status_code == 302
    assert signatures(petition)[0].city == "Saint-Denis; Nord"


def test_byte_order_mark_and_plain_utf8(logged_in, petition):
    with_bom = csv_bytes([row(full_name="Zoé Ünal")], encoding="utf-8-sig")
    assert with_bom.startswith(b"\xef\xbb\xbf")
    assert upload(logged_in, petition, with_bom).status_code == 302
    without = csv_bytes([row(full_name="Łukasz Ó", email="l@example.org")], encoding="utf-8")
    assert upload(logged_in, petition, without).status_code == 302
    assert [s.full_name for s in signatures(petition)] == ["Zoé Ünal", "Łukasz Ó"]


def test_a_windows_1252_file_is_read_as_such_and_said_so(logged_in, petition):
    content = csv_bytes([row(full_name="Zoé Müller", city="Besançon")], encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    checked = upload(logged_in, petition, content, check="Check only")
    assert checked.status_code == 200
    assert "it was read as Windows-1252" in page(checked)
    response = upload(logged_in, petition, content)
    assert response.status_code == 302
    assert "Windows-1252" in page(logged_in.get(response.headers["Location"]))
    (signature,) = signatures(petition)
    assert (signature.full_name, signature.city) == ("Zoé Müller", "Besançon")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"PK\x03\x04rest of a zip", "spreadsheet workbook"),
        (b"full_name,city\x00,country\r\n", "This is not a text file"),
        (csv_bytes([]), "The file has no rows below its header."),
        (b"\r\n\r\n", "The first line of the file must name its columns."),
        (
            b"full_name,city,country,notes\r\nA,B,FR,x\r\n",
            "Unknown column(s): notes",
        ),
        (b"full_name,country\r\nA,FR\r\n", "Column(s) not found in the file: city"),
        (b"full_name,city,city,country\r\n", "The column city appears twice"),
    ],
)
def test_files_refused_as_a_whole(logged_in, petition, content, message):
    response = upload(logged_in, petition, content)
    assert response.status_code == 422
    assert "The file was not imported" in page(response)
    assert message in page(response)
    assert signature_count(petition) == 0


@pytest.mark.parametrize("rows", [1_800, 3_500])  # over the file limit, over the body limit
def test_over_the_size_limit(app, logged_in, petition, rows):
    # Small enough that the test client keeps the body in memory (not in a temporary file).
    app.config["IMPORT_MAX_BYTES"] = 100 * 1024
    content = csv_bytes([row(email=f"s{n}@example.org") for n in range(rows)])
    assert 100 * 1024 < len(content) < 400 * 1024
    response = upload(logged_in, petition, content)
    assert response.status_code == 413
    assert "The file is over 100 KB: split it into smaller files." in page(response)
    assert "At most 100 KB and 50,000 rows per file." in page(response)
    assert signature_count(petition) == 0


def test_over_the_row_limit_nothing_is_kept(app, logged_in, petition, monkeypatch):
    # Batches of 2: rows are stored before the limit is met, then taken back.
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    app.config["IMPORT_MAX_ROWS"] = 5
    content = csv_bytes([row(email=f"s{n}@example.org") for n in range(6)])
    response = upload(logged_in, petition, content)
    assert response.status_code == 422
    assert "more than 5 rows" in page(response)
    assert signature_count(petition) == 0


# --- rejected rows ---

BAD_ROWS = [
    ({"email": "not-an-email"}, "email", "An email address has an @"),
    ({"email": "someone@mailinator.com"}, "email", "Addresses at mailinator.com disappear"),
    ({"email": "x" * 250 + "@example.org"}, "email", "At most 254 characters"),
    ({"country": "Atlantis"}, "country", "Unknown country Atlantis"),
    ({"full_name": "  "}, "full_name", "This field is required."),
    ({"city": ""}, "city", "This field is required."),
    ({"full_name": "A" * (NAME_MAX + 1)}, "full_name", f"At most {NAME_MAX} characters"),
    ({"full_name": "Amina\u202eDiallo"}, "full_name", "invisible or control characters"),
    ({"city": "Calais\x07"}, "city", "invisible or control characters"),
    ({"full_name": "see https://spam.example"}, "full_name", "web address"),
    ({"full_name": "Jean, reset at evil-example.com/login"}, "full_name", "web address"),
    ({"affiliation": "See calais-news.org"}, "affiliation", "web address"),
    ({"signed_on": "2999-01-01"}, "signed_on", "This date is in the future."),
    ({"signed_on": "01/05/2024"}, "signed_on", "Write the date as YYYY-MM-DD."),
    ({"show_publicly": "maybe"}, "show_publicly", "Write yes or no"),
]


@pytest.mark.parametrize(("cells", "field", "message"), BAD_ROWS)
def test_bad_rows_are_reported_with_row_and_column(logged_in, petition, cells, field, message):
    content = csv_bytes([row(email="first@example.org"), row(**cells)])
    response = upload(logged_in, petition, content)
    assert response.status_code == 422
    text = page(response)
    assert f"<tr><td>3</td><td>{field}</td><td>" in text
    assert message in text
    assert "Nothing was stored, because some rows were rejected." in text
    assert signature_count(petition) == 0


def test_a_row_with_too_many_cells(logged_in, petition):
    fewer = csv_text([row(email="a@example.org")]) + "B,b@example.org,Paris,FR\r\n"
    assert upload(logged_in, petition, fewer.encode()).status_code == 302  # fewer are fine
    more = csv_text([row()]) + "C,c@example.org,Paris, France,FR,no,no,no,2024-01-01,x\r\n"
    response = upload(logged_in, petition, more.encode())
    assert response.status_code == 422
    text = page(response)
    assert "<tr><td>3</td><td>—</td><td>This row has 10 cells but the header has 9" in text


def test_countries_by_code_or_name(logged_in, petition):
    content = csv_bytes(
        [
            row(email="a@example.org", country="fr"),
            row(email="b@example.org", country="Allemagne"),
            row(email="c@example.org", country="united kingdom"),
            row(email="d@example.org", country="Côte d’Ivoire"),
        ]
    )
    assert upload(logged_in, petition, content).status_code == 302
    assert [s.country for s in signatures(petition)] == ["FR", "DE", "GB", "CI"]


def test_duplicates_within_the_file(logged_in, petition):
    content = csv_bytes(
        [row(), row(email="other@example.org"), row(full_name="Again", email=" AMINA@Example.ORG")]
    )
    response = upload(logged_in, petition, content)
    assert response.status_code == 422
    assert "<tr><td>4</td><td>email</td><td>The same email address as row 2.</td></tr>" in page(
        response
    )


def test_duplicate_of_an_existing_web_signature(logged_in, petition, make_signature):
    web = make_signature(petition, confirmed=True, full_name="Web Signer")
    content = csv_bytes([row(email="new@example.org"), row(email="Amina@example.org")])
    response = upload(logged_in, petition, content)
    assert response.status_code == 422
    assert (
        "<tr><td>3</td><td>email</td><td>This email address has already signed this call."
        in page(response)
    )
    assert signatures(petition) == [web]
    assert web.full_name == "Web Signer" and web.source is SignatureSource.WEB


def test_all_or_nothing_and_keep_valid(logged_in, petition):
    content = csv_bytes(
        [
            row(),
            row(email="bad@"),
            row(full_name="Jean", email="", country="Atlantis"),
            row(full_name="Zoé", email="zoe@example.org"),
        ]
    )
    response = upload(logged_in, petition, content)
    assert response.status_code == 422
    assert signature_count(petition) == 0

    response = upload(logged_in, petition, content, keep_valid="y")
    assert response.status_code == 200
    text = page(response)
    assert "2 signatures stored." in text
    assert "<tr><td>3</td><td>email</td>" in text and "<tr><td>4</td><td>country</td>" in text
    assert [s.full_name for s in signatures(petition)] == ["Amina Diallo", "Zoé"]
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
    assert (entry.details["stored"], entry.details["rejected"]) == (2, 2)


def test_keep_valid_in_a_later_batch_keeps_earlier_batches(
    logged_in, petition, make_signature, monkeypatch
):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    make_signature(petition, email="taken@example.org")
    rows = [row(email=f"s{n}@example.org") for n in range(5)] + [row(email="taken@example.org")]
    content = csv_bytes(rows)
    assert upload(logged_in, petition, content).status_code == 422
    assert signature_count(petition) == 1  # batches stored before the duplicate were taken back
    assert upload(logged_in, petition, content, keep_valid="y").status_code == 200
    assert signature_count(petition) == 6


def test_dry_run_stores_nothing(logged_in, petition):
    content = csv_bytes([row(), row(email="bad@")])
    response = upload(logged_in, petition, content, check="Check only", keep_valid="y")
    assert response.status_code == 200
    text = page(response)
    assert "Check only: nothing was stored. 1 rows would be stored." in text
    assert "<tr><td>3</td><td>email</td>" in text
    assert signature_count(petition) == 0
    assert organizers_actions() == []


def test_formula_cells_are_stored_as_text_and_neutralized_on_export(
    logged_in, petition, make_petition
):
    content = csv_bytes([row(full_name="=cmd()", city="+Calais", affiliation="@SUM(A1)")])
    assert upload(logged_in, petition, content).status_code == 302
    (signature,) = signatures(petition)
    assert (signature.full_name, signature.city) == ("=cmd()", "+Calais")

    # Exported: neutralized for spreadsheets.
    columns = ("full_name", "email", "city", "country", "affiliation", "signed_at")
    exported = b"".join(csv_lines(columns, [[getattr(signature, name) for name in columns]]))
    cells = next(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert (cells["full_name"], cells["city"]) == ("'=cmd()", "'+Calais")

    # That export imported into another call gives back the same text.
    second = make_petition()
    response = upload(logged_in, second, exported, source="import", column_signed_on="signed_at")
    assert response.status_code == 302, page(response)
    (moved,) = signatures(second)
    assert (moved.full_name, moved.city, moved.affiliation) == ("=cmd()", "+Calais", "@SUM(A1)")
    assert moved.source is SignatureSource.IMPORT and moved.signed_at == signature.signed_at


# --- files from another tool ---


def test_mapping_another_tools_columns(logged_in, petition, mails):
    header = ["Name", "E-mail", "Town", "Country code", "Date", "Comment"]
    content = csv_bytes(
        [
            ["Amina Diallo", "amina@example.org", "Calais", "FR", "2024-05-01T10:30:00Z", "hi"],
            ["Jean Martin", "jean@example.org", "Lille", "FR", "2024-05-02", ""],
        ],
        header=header,
    )
    mapping = {
        "column_full_name": "Name",
        "column_email": "e-mail",  # the case does not matter
        "column_city": "Town",
        "column_country": "Country code",
        "column_signed_on": "Date",
        "column_affiliation": "",
        "column_show_publicly": "",
        "column_wants_updates": "",
    }
    response = upload(logged_in, petition, content, source="import", check="Check", **mapping)
    assert response.status_code == 200
    assert "Columns ignored: Comment" in page(response)
    assert upload(logged_in, petition, content, source="import", **mapping).status_code == 302
    amina, jean = signatures(petition)
    assert amina.source is SignatureSource.IMPORT and amina.status is SignatureStatus.CONFIRMED
    assert amina.privacy_notice_version == "import"
    assert amina.signed_at == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert (jean.city, jean.show_publicly) == ("Lille", False)
    assert not mails


def test_another_tools_rows_need_an_email(logged_in, petition):
    content = csv_bytes([row(), row(email="")])
    response = upload(logged_in, petition, content, source="import")
    assert response.status_code == 422
    assert "An email address is required for signatures from another tool." in page(response)
    response = upload(logged_in, petition, content, source="import", column_email="")
    assert response.status_code == 422
    assert "Say which column of your file holds email" in page(response)


def test_first_and_last_names_joined(logged_in, petition):
    header = ["first_name", "last_name", "email", "city", "country"]
    content = csv_bytes([["Amina", "Diallo", "", "Calais", "FR"]], header=header)
    response = upload(logged_in, petition, content, column_full_name="first_name + last_name")
    assert response.status_code == 302, page(response)
    assert signatures(petition)[0].full_name == "Amina Diallo"


def test_a_missing_mapped_column_is_named(logged_in, petition):
    content = csv_bytes(
        [["A", "a@example.org", "Calais", "FR"]], header=["Name", "Email", "City", "Country"]
    )
    response = upload(
        logged_in, petition, content, source="import", column_full_name="Name", column_city="Town"
    )
    assert response.status_code == 422
    text = page(response)
    assert "Column(s) not found in the file: Town." in text
    assert "The file&#39;s columns are: Name, Email, City, Country." in text


# --- access and forms ---


def test_organizers_without_rights_get_403(client, petition, make_organizer, make_petition):
    other = make_petition()
    helper = make_organizer("helper@example.org", petitions=[other])
    log_in(client, helper)
    content = csv_bytes([row()])
    assert client.get(f"/organizer/p/{petition.slug}/import").status_code == 403
    assert client.get(f"/organizer/p/{petition.slug}/import/template.csv").status_code == 403
    assert upload(client, petition, content).status_code == 403
    assert signature_count(petition) == 0
    assert client.get("/organizer/p/no-such-call/import").status_code == 404
    assert upload(client, other, content).status_code == 302  # a call they work on
    assert signature_count(other) == 1


def test_anonymous_visitors_are_sent_to_login(client, petition):
    response = upload(client, petition, csv_bytes([row()]))
    assert response.status_code == 302 and "/organizer/login" in response.headers["Location"]
    assert signature_count(petition) == 0


def test_csrf_token_required(app, logged_in, petition):
    app.config["WTF_CSRF_ENABLED"] = True
    response = upload(logged_in, petition, csv_bytes([row()]))
    assert response.status_code == 422
    assert signature_count(petition) == 0


def test_no_file_chosen(logged_in, petition):
    response = logged_in.post(
        f"/organizer/p/{petition.slug}/import",
        data={"source": "paper"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Choose a CSV file." in page(response)


# --- the domain function, without HTTP ---


def test_domain_report_counts(app, petition):
    lines = csv_text([row(), row(email="bad@"), row(), ["", "", "", "", "", "", "", ""]])
    report = imports.import_signatures(
        petition, io.StringIO(lines), keep_valid=True, now=datetime.now(UTC)
    )
    assert (report.rows_read, report.valid, report.stored) == (3, 1, 1)
    assert (report.rejected_rows, report.duplicates) == (2, 1)
    assert [(p.row, p.field) for p in report.problems] == [(3, "email"), (4, "email")]
    db.session.rollback()
    assert signature_count(petition) == 0  # the caller commits or not


@pytest.mark.parametrize("keep_valid", [False, True])
def test_someone_signing_online_during_the_import(
    app, petition, make_signature, monkeypatch, keep_valid
):
    """Between our check and our insert: the unique index decides, the report says so."""
    real_statement = imports._insert_statement

    def sign_meanwhile():
        if not signature_count(petition):
            make_signature(petition, email="amina@example.org", full_name="Online")
        return real_statement()

    monkeypatch.setattr(imports, "_insert_statement", sign_meanwhile)
    lines = csv_text([row(), row(email="jean@example.org")])
    report = imports.import_signatures(petition, io.StringIO(lines), keep_valid=keep_valid)
    assert (report.duplicates, report.rejected_rows) == (1, 1)
    assert report.stored == (1 if keep_valid else 0)
    assert [(p.row, p.field) for p in report.problems] == [(2, "email")]
    assert "already signed" in report.problems[0].message
    db.session.commit()
    expected = ["Amina Diallo", "Online"] if keep_valid else ["Online"]
    assert sorted(s.full_name for s in signatures(petition)) == sorted(expected)
    online = next(s for s in signatures(petition) if s.full_name == "Online")
    assert online.source is SignatureSource.WEB and online.status is SignatureStatus.PENDING


def test_domain_refuses_a_date_after_now(app, petition):
    now = datetime(2025, 1, 1, tzinfo=UTC)
    tomorrow = (now + timedelta(days=1)).date().isoformat()
    report = imports.import_signatures(
        petition, io.StringIO(csv_text([row(signed_on=tomorrow)])), dry_run=True, now=now
    )
    assert report.problems[0].message == "This date is in the future."


# --- the command line ---


def test_cli_import(runner, petition, tmp_path, mails):
    path = tmp_path / "from-tool.csv"
    path.write_bytes(
        csv_bytes(
            [["Amina", "amina@example.org", "Calais", "FR"], ["Jean", "", "Lille", "FR"]],
            header=["Name", "E-mail", "Town", "Country"],
        )
    )
    args = ["import-signatures", petition.slug, str(path), "--source", "import"]
    maps = ["--map", "full_name=Name", "--map", "email=E-mail", "--map", "city=Town"]
    result = runner.invoke(args=args + maps)
    assert result.exit_code == 1, result.output
    assert "2 rows read (UTF-8, separator ','): 1 valid, 1 rejected" in result.output
    assert "row 3: email (E-mail): An email address is required" in result.output
    assert "Nothing was stored" in result.output
    assert signature_count(petition) == 0

    result = runner.invoke(args=args + maps + ["--dry-run"])
    assert result.exit_code == 1 and "Dry run: nothing was stored." in result.output
    result = runner.invoke(args=args + maps + ["--dry-run", "--keep-valid"])
    assert result.exit_code == 0 and "Dry run: nothing was stored." in result.output
    assert signature_count(petition) == 0

    result = runner.invoke(args=args + maps + ["--keep-valid"])
    assert result.exit_code == 0, result.output
    assert "1 stored." in result.output
    (signature,) = signatures(petition)
    assert signature.source is SignatureSource.IMPORT and not mails
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
    assert entry.actor == "command line" and entry.details["filename"] == "from-tool.csv"


def test_cli_errors(runner, petition, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"full_name,notes\r\nA,b\r\n")
    result = runner.invoke(args=["import-signatures", petition.slug, str(path)])
    assert result.exit_code == 1 and "bad.csv: Column(s) not found in the file" in result.output
    result = runner.invoke(args=["import-signatures", petition.slug, str(path), "--map", "name=x"])
    assert result.exit_code == 2 and "FIELD=COLUMN" in result.output
    result = runner.invoke(args=["import-signatures", "no-such-call", str(path)])
    assert result.exit_code == 1 and "no call with the slug" in result.output
