"""The `flask --app petition ...` commands, run through Flask's CLI test runner."""

import csv
import io
import socket

import pytest
from sqlalchemy import func, inspect, select, text
from werkzeug.security import check_password_hash

from petition.exports import ORGANIZATION_COLUMNS
from petition.extensions import db
from petition.models import (
    Demand,
    Endorsement,
    EndorsementStatus,
    Organizer,
    OutgoingMail,
    Petition,
    PetitionStatus,
    Signature,
    SignatureStatus,
)

SHIPPED_SLUG = "cispm-calais-2016-10-14"
BOM = b"\xef\xbb\xbf"
INDIVIDUALS_HEADER = (
    "full_name,email,city,country,country_name,affiliation,show_publicly,wants_updates,"
    "will_attend,status,source,language,signed_at,confirmed_at"
)
ORGANIZATIONS_HEADER = (
    "organization,org_type,country,country_name,city,website,contact_name,contact_email,"
    "contact_role,show_publicly,status,language,endorsed_at,confirmed_at,approved_at"
)
PASSWORD = "a long enough passphrase"

CALL_FILE = """\
+++
slug = "open-the-borders"
title = "Open the borders"
summary = "A call for freedom of movement."
status = "open"
demands = [
    "Papers for all",
    "Close the camps",
    "Stop the deportations",
]

[event]
starts_at = 2030-05-01T15:00:00
timezone = "Europe/Paris"
place = "Place de la République"
address = "Place de la République, 75003 Paris, France"
+++
We call for **freedom of movement**.
"""

UPDATED_CALL_FILE = """\
+++
slug = "open-the-borders"
title = "Open the borders, now"
summary = "A call for freedom of movement."
status = "open"
demands = [
    "Stop the deportations",
    "Papers for all",
]
+++
We call, again, for **freedom of movement**.
"""


def count(model, **filters) -> int:
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters))


def shipped_call() -> Petition:
    return db.session.execute(select(Petition).filter_by(slug=SHIPPED_SLUG)).scalar_one()


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# init-db


def test_init_db_creates_the_schema_and_loads_the_shipped_call(app, runner):
    """init-db creates every table on an empty database and adds the CISPM call."""
    db.drop_all()
    db.session.execute(text("DROP TABLE alembic_version"))
    db.session.commit()
    assert inspect(db.engine).get_table_names() == []

    result = runner.invoke(args=["init-db"])

    assert result.exit_code == 0, result.output
    assert "1 shipped call(s) added" in result.output
    assert SHIPPED_SLUG in result.output
    tables = set(inspect(db.engine).get_table_names())
    expected = {
        "petition",
        "demand",
        "signature",
        "endorsement",
        "organizer",
        "outgoing_mail",
        "alembic_version",
    }
    assert expected <= tables
    call = shipped_call()
    assert call.status is PetitionStatus.OPEN
    assert len(call.demands) == 4


def test_init_db_twice_keeps_signatures_and_edits(runner, make_signature):
    """A second init-db adds nothing, keeps every signature and an organizer's edited title."""
    assert runner.invoke(args=["init-db"]).exit_code == 0
    call = shipped_call()
    confirmed = make_signature(call, confirmed=True, email="amina@example.org")
    pending = make_signature(call, email="karim@example.org")
    call.title = "Edited by an organizer"
    db.session.commit()

    result = runner.invoke(args=["init-db"])

    assert result.exit_code == 0, result.output
    assert "0 shipped call(s) added" in result.output
    db.session.expire_all()
    assert count(Petition, slug=SHIPPED_SLUG) == 1
    assert shipped_call().title == "Edited by an organizer"
    assert count(Demand, petition_id=call.id) == 4
    assert db.session.get(Signature, confirmed.id).status is SignatureStatus.CONFIRMED
    assert db.session.get(Signature, pending.id).status is SignatureStatus.PENDING
    assert count(Signature, petition_id=call.id) == 2


# petitions load


def test_load_adds_then_updates_a_call_keeping_its_signatures(runner, tmp_path, make_signature):
    """Loading a file adds the call; loading it changed updates it in place."""
    path = tmp_path / "open-the-borders.md"
    path.write_text(CALL_FILE, encoding="utf-8")

    result = runner.invoke(args=["petitions", "load", str(path)])

    assert result.exit_code == 0, result.output
    assert "Added open-the-borders." in result.output
    call = db.session.execute(select(Petition).filter_by(slug="open-the-borders")).scalar_one()
    assert call.title == "Open the borders"
    assert [d.text for d in call.demands] == [
        "Papers for all",
        "Close the camps",
        "Stop the deportations",
    ]
    assert call.event_place == "Place de la République"
    signatures = [
        make_signature(call, confirmed=True, email="amina@example.org").id,
        make_signature(call, email="karim@example.org").id,
    ]

    path.write_text(UPDATED_CALL_FILE, encoding="utf-8")
    result = runner.invoke(args=["petitions", "load", str(path)])

    assert result.exit_code == 0, result.output
    assert "Updated open-the-borders." in result.output
    db.session.expire_all()
    assert count(Petition) == 1
    call = db.session.execute(select(Petition).filter_by(slug="open-the-borders")).scalar_one()
    assert call.title == "Open the borders, now"
    assert call.body == "We call, again, for **freedom of movement**."
    assert call.event_starts_at is None
    demands = db.session.execute(
        select(Demand.position, Demand.text)
        .filter_by(petition_id=call.id)
        .order_by(Demand.position)
    ).all()
    assert [tuple(row) for row in demands] == [(0, "Stop the deportations"), (1, "Papers for all")]
    kept = db.session.scalars(
        select(Signature.id).filter_by(petition_id=call.id).order_by(Signature.id)
    ).all()
    assert kept == signatures
    assert db.session.get(Signature, signatures[0]).status is SignatureStatus.CONFIRMED


BAD_FILES = {
    "bad slug": (
        '+++\nslug = "Open The Borders"\ntitle = "Open the borders"\n+++\nBody\n',
        "slug must be lower-case letters, digits and single hyphens",
    ),
    "missing title": ('+++\nslug = "open-the-borders"\n+++\nBody\n', "title must be a non-empty"),
    "bad status": (
        '+++\nslug = "open-the-borders"\ntitle = "T"\nstatus = "paused"\n+++\nBody\n',
        "status must be open or closed",
    ),
    "unknown time zone": (
        '+++\nslug = "open-the-borders"\ntitle = "T"\n[event]\n'
        'starts_at = 2030-05-01T15:00:00\ntimezone = "Mars/Olympus_Mons"\n+++\nBody\n',
        "unknown time zone 'Mars/Olympus_Mons'",
    ),
    "bad TOML": ('+++\nslug = "open-the-borders\ntitle = "T"\n+++\nBody\n', "front matter:"),
    "no front matter": ("# Open the borders\n\nBody\n", "TOML front matter between +++ lines"),
}


@pytest.mark.parametrize(("text", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_load_refuses_a_malformed_file_and_stores_nothing(runner, tmp_path, text, message):
    """A malformed content file fails, names the file and the problem, and adds no call."""
    path = tmp_path / "broken.md"
    path.write_text(text, encoding="utf-8")

    result = runner.invoke(args=["petitions", "load", str(path)])

    assert result.exit_code != 0
    assert "broken.md" in result.output
    assert message in result.output
    db.session.rollback()
    assert count(Petition) == 0
    assert count(Demand) == 0


def test_load_refuses_a_missing_file(runner, tmp_path):
    """A path that does not exist fails before anything is read."""
    result = runner.invoke(args=["petitions", "load", str(tmp_path / "nowhere.md")])

    assert result.exit_code != 0
    assert "does not exist" in result.output
    assert count(Petition) == 0


# petitions list


def test_list_shows_slug_status_and_public_counts(
    runner, make_petition, make_signature, make_endorsement
):
    """Each call is listed with its status, confirmed signatures and approved endorsements."""
    busy = make_petition(slug="busy-call")
    quiet = make_petition(slug="quiet-call", status=PetitionStatus.CLOSED)
    make_signature(busy, confirmed=True, email="a@example.org")
    make_signature(busy, confirmed=True, email="b@example.org")
    make_signature(busy, email="pending@example.org")
    make_endorsement(busy, status=EndorsementStatus.APPROVED, contact_email="ok@example.org")
    make_endorsement(
        busy, status=EndorsementStatus.AWAITING_APPROVAL, contact_email="wait@example.org"
    )
    make_endorsement(busy, status=EndorsementStatus.REJECTED, contact_email="no@example.org")
    assert quiet.status is PetitionStatus.CLOSED

    result = runner.invoke(args=["petitions", "list"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "busy-call\topen\t2 individuals\t1 organizations" in lines
    assert "quiet-call\tclosed\t0 individuals\t0 organizations" in lines
    assert len(lines) == 2


def test_list_without_calls_says_how_to_add_them(runner):
    """An empty database points to init-db."""
    result = runner.invoke(args=["petitions", "list"])

    assert result.exit_code == 0
    assert "No calls yet" in result.output
    assert "init-db" in result.output


# organizer create


def test_organizer_create_hashes_the_password(runner):
    """The prompted password is stored as a scrypt hash, never in clear."""
    result = runner.invoke(
        args=["organizer", "create", "Coord@Example.org"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert "Organizer coord@example.org created." in result.output
    account = db.session.execute(select(Organizer)).scalar_one()
    assert account.email == "coord@example.org"
    assert account.password_hash != PASSWORD
    assert PASSWORD not in account.password_hash
    assert account.password_hash.startswith("scrypt:")
    assert check_password_hash(account.password_hash, PASSWORD)


def test_organizer_create_refuses_a_short_password(runner):
    """A password under 12 characters is refused with the rule, and no account is made."""
    result = runner.invoke(
        args=["organizer", "create", "coord@example.org"], input="short\nshort\n"
    )

    assert result.exit_code != 0
    assert "the password needs at least 12 characters" in result.output
    assert count(Organizer) == 0


def test_organizer_create_refuses_a_duplicate_email(runner, organizer):
    """A second account for the same address, whatever its case, is refused."""
    result = runner.invoke(
        args=["organizer", "create", "Organizer@Example.org"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )

    assert result.exit_code != 0
    assert "an organizer with the address organizer@example.org exists already" in result.output
    assert count(Organizer) == 1


def test_organizer_create_refuses_an_address_without_at(runner):
    """The account is identified by an email address."""
    result = runner.invoke(
        args=["organizer", "create", "coordination"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )

    assert result.exit_code != 0
    assert "identified by an email address" in result.output
    assert count(Organizer) == 0


def test_organizer_create_refuses_mismatched_passwords(runner):
    """The confirmation must repeat the password; no account is made otherwise."""
    result = runner.invoke(
        args=["organizer", "create", "coord@example.org"],
        input=f"{PASSWORD}\nsomething else entirely\n",
    )

    assert result.exit_code != 0
    assert "do not match" in result.output
    assert count(Organizer) == 0


# export


@pytest.fixture
def signed_call(make_petition, make_signature):
    """A call with two confirmed signatures and one pending."""
    call = make_petition(slug="signed-call")
    make_signature(call, confirmed=True, full_name="Amina Diallo", email="amina@example.org")
    make_signature(
        call,
        confirmed=True,
        full_name="Łukasz Żółć",
        email="lukasz@example.org",
        city="Łódź",
        country="PL",
        show_publicly=False,
    )
    make_signature(call, full_name="Karim Pending", email="karim@example.org")
    return call


def test_export_individuals_to_a_file(runner, tmp_path, signed_call):
    """The CSV starts with a BOM and the header, and holds only confirmed signatures."""
    output = tmp_path / "out.csv"

    result = runner.invoke(
        args=["export", "signed-call", "--who", "individuals", "-o", str(output)]
    )

    assert result.exit_code == 0, result.output
    data = output.read_bytes()
    assert data.startswith(BOM + INDIVIDUALS_HEADER.encode() + b"\r\n")
    rows = csv_rows(data)
    assert rows[0] == INDIVIDUALS_HEADER.split(",")
    assert [row[:5] for row in rows[1:]] == [
        ["Amina Diallo", "amina@example.org", "Calais", "FR", "France"],
        ["Łukasz Żółć", "lukasz@example.org", "Łódź", "PL", "Poland"],
    ]
    status = rows[0].index("status")
    assert {row[status] for row in rows[1:]} == {"confirmed"}
    assert [row[rows[0].index("show_publicly")] for row in rows[1:]] == ["yes", "no"]
    confirmed_at = rows[0].index("confirmed_at")
    assert all(row[confirmed_at].endswith("Z") for row in rows[1:])


def test_export_individuals_with_all_statuses(runner, tmp_path, signed_call):
    """--all-statuses adds the pending signatures."""
    output = tmp_path / "all.csv"

    result = runner.invoke(args=["export", "signed-call", "--all-statuses", "-o", str(output)])

    assert result.exit_code == 0, result.output
    rows = csv_rows(output.read_bytes())
    status = rows[0].index("status")
    assert [(row[0], row[status]) for row in rows[1:]] == [
        ("Amina Diallo", "confirmed"),
        ("Łukasz Żółć", "confirmed"),
        ("Karim Pending", "pending"),
    ]
    assert rows[3][rows[0].index("confirmed_at")] == ""


def test_export_to_stdout(runner, signed_call):
    """-o - writes the same CSV to standard output."""
    result = runner.invoke(args=["export", "signed-call", "-o", "-"])

    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(BOM + INDIVIDUALS_HEADER.encode() + b"\r\n")
    assert len(csv_rows(result.stdout_bytes)) == 3


def test_export_neutralizes_formulas(runner, make_petition, make_signature):
    """A cell a spreadsheet would read as a formula is prefixed with a quote."""
    call = make_petition(slug="formula-call")
    signature = make_signature(call, confirmed=True, full_name="placeholder", city="+33")
    # A link in a name is refused at the door now; databases from before may hold one.
    signature.full_name = '=HYPERLINK("http://x")'
    db.session.commit()

    result = runner.invoke(args=["export", "formula-call"])

    assert result.exit_code == 0, result.output
    rows = csv_rows(result.stdout_bytes)
    assert rows[1][0] == '\'=HYPERLINK("http://x")'
    assert rows[1][2] == "'+33"


@pytest.fixture
def endorsed_call(make_petition, make_endorsement):
    """A call with one endorsement in each state."""
    call = make_petition(slug="endorsed-call")
    for status in EndorsementStatus:
        make_endorsement(
            call,
            status=status,
            organization=f"Org {status.value}",
            contact_email=f"{status.value}@example.org",
        )
    return call


def test_export_organizations(runner, tmp_path, endorsed_call):
    """Organizations: their own header, and only approved endorsements by default."""
    output = tmp_path / "orgs.csv"

    result = runner.invoke(
        args=["export", "endorsed-call", "--who", "organizations", "-o", str(output)]
    )

    assert result.exit_code == 0, result.output
    data = output.read_bytes()
    assert data.startswith(BOM + ORGANIZATIONS_HEADER.encode() + b"\r\n")
    rows = csv_rows(data)
    assert tuple(rows[0]) == ORGANIZATION_COLUMNS
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["organization"] == "Org approved"
    assert row["org_type"] == "collective"
    assert row["country_name"] == "France"
    assert row["status"] == "approved"
    assert row["approved_at"].endswith("Z")


def test_export_organizations_with_all_statuses(runner, endorsed_call):
    """--all-statuses lists every endorsement; approved_at is only set on approved ones."""
    result = runner.invoke(
        args=["export", "endorsed-call", "--who", "organizations", "--all-statuses"]
    )

    assert result.exit_code == 0, result.output
    rows = csv_rows(result.stdout_bytes)
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(r["status"], bool(r["approved_at"])) for r in records] == [
        ("pending", False),
        ("awaiting_approval", False),
        ("approved", True),
        ("rejected", False),
    ]
    assert count(Endorsement) == 4


def test_export_unknown_slug_fails(runner, tmp_path):
    """An unknown call is an error, and no file is left behind."""
    output = tmp_path / "none.csv"

    result = runner.invoke(args=["export", "no-such-call", "-o", str(output)])

    assert result.exit_code != 0
    assert "no call with the slug 'no-such-call'" in result.output
    assert not output.exists()


def test_export_refuses_an_unknown_audience(runner, signed_call):
    """--who only takes individuals or organizations."""
    result = runner.invoke(args=["export", "signed-call", "--who", "everyone"])

    assert result.exit_code != 0
    assert "everyone" in result.output


# mail send


def test_mail_send_reports_how_many_were_sent(runner, petition, make_signature, mails):
    """Queued mails are sent and counted; a second run has nothing left to send."""
    make_signature(petition, email="amina@example.org")
    make_signature(petition, email="karim@example.org")
    assert count(OutgoingMail) == 2

    result = runner.invoke(args=["mail", "send"])

    assert result.exit_code == 0, result.output
    assert "2 sent, 0 failed" in result.output
    assert sorted(m["To"] for m in mails) == ["amina@example.org", "karim@example.org"]
    unsent = select(func.count()).select_from(OutgoingMail).where(OutgoingMail.sent_at.is_(None))
    assert db.session.scalar(unsent) == 0

    again = runner.invoke(args=["mail", "send"])

    assert again.exit_code == 0
    assert "0 sent, 0 failed" in again.output
    assert len(mails) == 2


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unreachable_smtp(config):
    config["MAIL_SERVER"] = "127.0.0.1"
    config["MAIL_PORT"] = _closed_port()
    config["MAIL_TIMEOUT"] = 2


def test_mail_send_keeps_failed_mails_and_exits_non_zero(
    unreachable_smtp, runner, petition, make_signature
):
    """With the SMTP server down, the mail stays queued and the command fails."""
    make_signature(petition)

    result = runner.invoke(args=["mail", "send"])

    assert result.exit_code == 1
    assert "0 sent, 1 failed" in result.output
    outgoing = db.session.execute(select(OutgoingMail)).scalar_one()
    assert outgoing.sent_at is None
    assert outgoing.attempts == 1
    assert outgoing.last_error


def test_loading_a_content_file_is_in_the_audit_log(runner, tmp_path):
    """`petitions load` changes a call as the editor does: the audit log says so."""
    from petition.models import AuditEntry

    def entries():
        db.session.expire_all()
        rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.action, e.actor, e.details) for e in rows]

    path = tmp_path / "open-the-borders.md"
    path.write_text(CALL_FILE, encoding="utf-8")
    assert runner.invoke(args=["petitions", "load", str(path)]).exit_code == 0
    ((action, actor, details),) = entries()
    assert (action, actor, details["created"]) == ("load_call", "command line", True)
    assert runner.invoke(args=["petitions", "load", str(path)]).exit_code == 0
    assert len(entries()) == 1  # the same file again changes nothing, records nothing
    path.write_text(UPDATED_CALL_FILE, encoding="utf-8")
    assert runner.invoke(args=["petitions", "load", str(path)]).exit_code == 0
    action, _actor, details = entries()[-1]
    assert action == "load_call" and details["created"] is False
    assert {"title", "body", "demands"} <= set(details["changed"])
