"""The CSV exports opened in a real spreadsheet: no cell becomes a formula (CSV Injection).

LibreOffice Calc (Debian's libreoffice-calc-nogui, installed by `make spreadsheet`, a
prerequisite of `make test`) converts each export to OpenDocument headless; the test then
reads content.xml. A missing LibreOffice fails these tests: it is never a reason to skip.

Every text field of the signatures and endorsements below starts with a character a
spreadsheet reads as the start of a formula (OWASP: = + - @), or holds commas, double
quotes and semicolons, or non-ASCII letters. They are all printable text the forms accept
(values with "http://", which the rules refuse in every free text, are written as databases
from before the rule may hold them).
"""

import csv
import io
import shutil
import subprocess
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petition import moderation, rules, signing
from petition.countries import country_name
from petition.exports import INDIVIDUAL_COLUMNS, ORGANIZATION_COLUMNS, csv_cell, csv_lines
from petition.extensions import db
from petition.models import OrganizationType

from .conftest import endorsement_fields, signature_fields

LO_TIMEOUT_SECONDS = 180
# LibreOffice's CSV import options: separator, quote, charset, first line, column formats,
# language, quoted fields as text, detect special numbers, (2 export-only), trim spaces,
# (export-only), evaluate formulas. 44 = comma, 34 = double quote, 76 = UTF-8.
IMPORT_OPTIONS = {
    # What Calc does when nothing is said: it evaluates "=..." cells as formulas.
    "defaults": "44,34,76,1",
    # The most eager reading: special numbers detected, spaces trimmed, formulas evaluated.
    "eager": "44,34,76,1,,0,false,true,false,false,true,-1,true",
}

HYPERLINK = '=HYPERLINK("http://evil.example","click")'
HYPERLINK_NO_SCHEME = '=HYPERLINK("evil.example","click")'  # what a name field accepts
DDE = "=cmd|' /C calc'!A0"

SIGNATURES = [
    {
        "full_name": HYPERLINK_NO_SCHEME,
        "email": "=1+1@example.org",
        "city": "+1+1",
        "affiliation": "-1+1",
        "country": "FR",
    },
    {
        "full_name": "@SUM(1+1)",
        "email": "+cmd@example.org",
        "city": DDE,
        "affiliation": "@admin",
        "country": "CI",
    },
    {
        "full_name": "-1+1",
        "email": "-2+3@example.org",
        "city": "=1+1",
        "affiliation": HYPERLINK,
        "country": "PL",
    },
    {
        "full_name": "=1+1",
        "email": "łódź@example.org",
        "city": "Łódź",
        "affiliation": "+33 6 12 34 56 78",
        "country": "AX",
        "show_publicly": False,
        "wants_updates": True,
        "will_attend": True,
    },
    {
        "full_name": "Zoë Ünal",
        "email": "zoe@example.org",
        "city": 'Saint-Denis, "La Réunion"',
        "affiliation": 'Collectif "Solidarité"; Calais, Dunkerque',
        "country": "RE",
    },
    {
        "full_name": "مریم",
        "email": "maryam@example.org",
        "city": "تهران",
        "affiliation": "",  # stored as NULL: an empty cell
        "country": "IR",
    },
    {
        "full_name": 'Jean "Jojo" Martin, fils; aîné',
        "email": "jojo@example.org",
        "city": "'s-Hertogenbosch",  # a real leading apostrophe: left as it is
        "affiliation": "a,b;c\"d'e",
        "country": "NL",
    },
]
PENDING_SIGNATURE = {"full_name": "=1+2", "email": "=pending@example.org", "city": "-1"}

ENDORSEMENTS = [
    {
        "organization": HYPERLINK_NO_SCHEME,
        "org_type": OrganizationType.COLLECTIVE,
        "country": "FR",
        "city": "@SUM(1+1)",
        "website": "https://example.org/=1+1",
        "contact_name": "=1+1",
        "contact_email": "=1+1@example.org",
        "contact_role": "+1+1",
    },
    {
        "organization": "-1+1",
        "org_type": OrganizationType.TRADE_UNION,
        "country": "DE",
        "city": DDE,
        "website": 'https://example.org/?a=1,b="2";c=@3',
        "contact_name": "@SUM(1+1)",
        "contact_email": "+cmd@example.org",
        "contact_role": HYPERLINK,
    },
    {
        "organization": "+1+1",
        "org_type": OrganizationType.NGO,
        "country": "PL",
        "city": "Łódź",
        "website": None,  # an empty cell
        "contact_name": "Zoë Ünal",
        "contact_email": "-2+3@example.org",
        "contact_role": "-1+1",
    },
    {
        "organization": 'Collectif "Łódź", Solidarité; Calais',
        "org_type": OrganizationType.ASSOCIATION,
        "country": "IR",
        "city": "مشهد",
        "website": "https://انجمن.example/مریم",
        "contact_name": "مریم",
        "contact_email": "maryam@example.org",
        "contact_role": 'Secretary, "acting"; treasurer',
        "show_publicly": False,
    },
]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def escaped(value: str | None) -> str:
    """The cell the export must write for a stored text (written independently of csv_cell)."""
    if not value:
        return ""
    return "'" + value if value[0] in "=+-@" else value


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stored_as_is(record, petition, fields: dict):
    """Sign with these values, even those the rules now refuse at the door (a link in a name):
    databases hold such values from before, and exports must neutralize them too."""
    refused = {}
    try:
        return record(petition, **fields)
    except rules.InvalidSubmission as error:  # raised before anything is written
        refused = {name: fields[name] for name in error.problems}
    stored = record(petition, **{**fields, **{name: "placeholder" for name in refused}})
    for name, value in refused.items():
        setattr(stored, name, value)
    db.session.flush()
    return stored


@pytest.fixture
def signed(app, petition, organizer):
    """The confirmed signatures and approved endorsements above, plus one pending signature."""
    signatures = []
    for fields in SIGNATURES:
        signature = stored_as_is(signing.sign, petition, signature_fields(**fields))
        signing.confirm(signature)
        signatures.append(signature)
    signing.sign(petition, **signature_fields(**PENDING_SIGNATURE))  # not exported
    endorsements = []
    for fields in ENDORSEMENTS:
        endorsement = stored_as_is(signing.endorse, petition, endorsement_fields(**fields))
        signing.confirm(endorsement)
        moderation.approve(endorsement, organizer)
        endorsements.append(endorsement)
    db.session.commit()
    return signatures, endorsements


def expected_rows(signatures, endorsements) -> dict[str, list[list[str]]]:
    """The header and the rows each export must hold, cell for cell."""
    individuals = [list(INDIVIDUAL_COLUMNS)]
    for signature, fields in zip(signatures, SIGNATURES, strict=True):
        assert signature.full_name == fields["full_name"]  # stored as given
        individuals.append(
            [
                escaped(signature.full_name),
                escaped(signature.email),
                escaped(signature.city),
                signature.country,
                country_name(signature.country),
                escaped(signature.affiliation),
                yes_no(signature.show_publicly),
                yes_no(signature.wants_updates),
                yes_no(signature.will_attend),
                "confirmed",
                signature.source.value,
                signature.locale or "",
                iso(signature.signed_at),
                iso(signature.confirmed_at),
            ]
        )
    organizations = [list(ORGANIZATION_COLUMNS)]
    for endorsement, fields in zip(endorsements, ENDORSEMENTS, strict=True):
        assert endorsement.organization == fields["organization"]
        organizations.append(
            [
                escaped(endorsement.organization),
                endorsement.org_type.value,
                endorsement.country,
                country_name(endorsement.country),
                escaped(endorsement.city),
                escaped(endorsement.website),
                escaped(endorsement.contact_name),
                escaped(endorsement.contact_email),
                escaped(endorsement.contact_role),
                yes_no(endorsement.show_publicly),
                "approved",
                endorsement.locale or "",
                iso(endorsement.endorsed_at),
                iso(endorsement.confirmed_at),
                iso(endorsement.reviewed_at),
            ]
        )
    return {"individuals": individuals, "organizations": organizations}


def export_files(runner, logged_in, petition, directory: Path) -> dict[str, Path]:
    """Both exports written by the CLI; the organizers' download is the very same bytes."""
    paths = {}
    for who in ("individuals", "organizations"):
        path = directory / f"{who}.csv"
        result = runner.invoke(args=["export", petition.slug, "--who", who, "-o", str(path)])
        assert result.exit_code == 0, result.output
        response = logged_in.get(f"/organizer/p/{petition.slug}/export/{who}.csv")
        assert response.status_code == 200
        assert response.data == path.read_bytes()
        paths[who] = path
    return paths


def read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# LibreOffice --------------------------------------------------------------------------

TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


@pytest.fixture(scope="session")
def soffice() -> str:
    """LibreOffice's command: its absence is a failure (run `make spreadsheet`)."""
    command = shutil.which("soffice") or shutil.which("libreoffice")
    assert command, "LibreOffice is missing: `make spreadsheet` installs libreoffice-calc-nogui"
    return command


def convert_to_ods(soffice: str, csv_paths, options: str, directory: Path) -> list[Path]:
    """Open each CSV in Calc with these import options and save it as .ods."""
    out = directory / f"ods-{time.monotonic_ns()}"
    profile = directory / "lo-profile"  # a private profile: no clash with another run
    completed = subprocess.run(  # noqa: S603 - LibreOffice, our own arguments
        [
            soffice,
            "--headless",
            "--norestore",
            "--nolockcheck",
            f"-env:UserInstallation={profile.as_uri()}",
            f"--infilter=CSV:{options}",
            "--convert-to",
            "ods",
            "--outdir",
            str(out),
            *map(str, csv_paths),
        ],
        capture_output=True,
        text=True,
        timeout=LO_TIMEOUT_SECONDS,
        check=False,
    )
    converted = [out / f"{Path(path).stem}.ods" for path in csv_paths]
    missing = [path for path in converted if not path.exists()]
    assert completed.returncode == 0 and not missing, (completed.stdout, completed.stderr)
    return converted


def paragraph_text(element) -> str:
    """The text of a text:p, with ODF's encoded spaces, tabs and line breaks put back."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == f"{{{TEXT}}}s":
            parts.append(" " * int(child.get(f"{{{TEXT}}}c", "1")))
        elif child.tag == f"{{{TEXT}}}tab":
            parts.append("\t")
        elif child.tag == f"{{{TEXT}}}line-break":
            parts.append("\n")
        else:
            parts.append(paragraph_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


class Cell:
    def __init__(self, element):
        self.formula = element.get(f"{{{TABLE}}}formula")
        self.value_type = element.get(f"{{{OFFICE}}}value-type")
        self.text = "\n".join(paragraph_text(p) for p in element.findall(f"{{{TEXT}}}p"))

    def __repr__(self):
        return f"Cell({self.text!r}, formula={self.formula!r}, type={self.value_type!r})"


def trimmed(row: list[str]) -> list[str]:
    """A row without its trailing empty cells (Calc may or may not write them)."""
    row = list(row)
    while row and row[-1] == "":
        row.pop()
    return row


def read_ods(path: Path) -> tuple[ElementTree.Element, list[list[Cell]]]:
    """content.xml and the first sheet's cells, repeated cells and rows expanded."""
    with zipfile.ZipFile(path) as ods:
        # Our own LibreOffice's output, not untrusted XML.
        content = ElementTree.fromstring(ods.read("content.xml"))  # noqa: S314
    sheet = next(content.iter(f"{{{TABLE}}}table"))
    rows = []
    for row_element in sheet.iter(f"{{{TABLE}}}table-row"):
        row = []
        for cell_element in row_element:
            if cell_element.tag not in (
                f"{{{TABLE}}}table-cell",
                f"{{{TABLE}}}covered-table-cell",
            ):
                continue
            repeat = int(cell_element.get(f"{{{TABLE}}}number-columns-repeated", "1"))
            row.extend([Cell(cell_element)] * repeat)
        repeat = int(row_element.get(f"{{{TABLE}}}number-rows-repeated", "1"))
        rows.extend([row] * repeat)
    while rows and not any(cell.text or cell.formula for cell in rows[-1]):
        rows.pop()  # the empty rows after the data, if Calc writes them
    return content, rows


def formulas(content: ElementTree.Element) -> list[tuple[str, str]]:
    """Every formula anywhere in the document."""
    return [
        (element.tag, value)
        for element in content.iter()
        for name, value in element.attrib.items()
        if name == f"{{{TABLE}}}formula"
    ]


@pytest.mark.parametrize("options", IMPORT_OPTIONS.values(), ids=IMPORT_OPTIONS.keys())
def test_libreoffice_opens_the_exports_without_a_single_formula(
    soffice, options, runner, logged_in, petition, signed, tmp_path
):
    expected = expected_rows(*signed)
    paths = export_files(runner, logged_in, petition, tmp_path)
    started = time.monotonic()
    converted = convert_to_ods(soffice, paths.values(), options, tmp_path)
    print(f"LibreOffice converted 2 exports in {time.monotonic() - started:.1f} s")
    for who, ods in zip(paths, converted, strict=True):
        content, rows = read_ods(ods)
        assert formulas(content) == [], who
        assert [trimmed([cell.text for cell in row]) for row in rows] == [
            trimmed(row) for row in expected[who]
        ], who
        for row in rows:
            for cell in row:
                assert cell.formula is None, cell
                # Text stays text; Calc keeps the export's leading ' as a visible character.
                assert cell.value_type in ("string", None), cell


@pytest.mark.parametrize("options", IMPORT_OPTIONS.values(), ids=IMPORT_OPTIONS.keys())
def test_the_check_catches_an_unescaped_cell(soffice, options, tmp_path):
    """Control: the same conversion does turn an unescaped =1+1 into a formula."""
    path = tmp_path / "control.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerows([["value"], ["=1+1"], [HYPERLINK], [DDE], [csv_cell("=1+1")]])
    (ods,) = convert_to_ods(soffice, [path], options, tmp_path)
    content, rows = read_ods(ods)
    header, one_plus_one, hyperlink, dde, escaped_cell = (row[0] for row in rows)
    assert header.formula is None and header.text == "value"
    assert one_plus_one.formula == "of:=1+1" and one_plus_one.text == "2"
    assert hyperlink.formula.startswith("of:=HYPERLINK(") and hyperlink.text == "click"
    assert dde.formula is not None
    assert escaped_cell.formula is None and escaped_cell.text == "'=1+1"
    assert len(formulas(content)) == 3


# The CSV itself -----------------------------------------------------------------------


def test_exports_reparse_to_the_stored_values(runner, logged_in, petition, signed, tmp_path):
    expected = expected_rows(*signed)
    paths = export_files(runner, logged_in, petition, tmp_path)
    for who, path in paths.items():
        rows = read_csv(path)
        assert rows == expected[who], who
        assert path.read_bytes().count(b"\r\n") == len(expected[who])  # RFC 4180 line ends
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS), (who, cell)
    # Every dangerous field did reach the export, behind its '.
    cells = {cell for rows in expected.values() for row in rows for cell in row}
    for dangerous in ("=1+1", "+1+1", "-1+1", "@SUM(1+1)", HYPERLINK, HYPERLINK_NO_SCHEME, DDE):
        assert "'" + dangerous in cells
    assert {"'=1+1@example.org", "'+cmd@example.org", "'-2+3@example.org"} <= cells
    assert "'https://example.org/=1+1" not in cells and "https://example.org/=1+1" in cells


@given(st.text())
def test_csv_cell_never_starts_a_formula(text):
    cell = csv_cell(text)
    assert not cell.lstrip(" ").startswith(FORMULA_STARTS)  # even after trimming spaces
    dangerous = text.lstrip(" ").startswith(FORMULA_STARTS)
    assert cell == ("'" + text if dangerous else text)


CELL_VALUES = st.one_of(st.text(), st.none(), st.booleans(), st.integers())


# NUL is included: since Python 3.11 (the oldest this project supports) the csv module
# writes and reads "\0" in a field like any other character (before, its reader refused
# it with "line contains NUL"); csv_cell prefixes a leading one like a formula start.
@given(st.lists(st.lists(CELL_VALUES, max_size=6), max_size=8))
def test_csv_lines_reparse_to_exactly_the_cells(rows):
    header = ["a", 'b, "c"', "é"]
    data = b"".join(csv_lines(header, rows))
    assert data.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert parsed == [header] + [[csv_cell(value) for value in row] for row in rows]


@pytest.mark.parametrize("text", [" =1+1", "   +1", " @SUM(1)", " -2"])
def test_a_formula_behind_spaces_is_neutralized_too(text):
    """LibreOffice's "trim spaces" import option would otherwise run it."""
    assert csv_cell(text) == "'" + text
