"""Ids are never given twice: what an audit entry or a link names stays that record."""

from sqlalchemy import delete, func, select, text

from petition.extensions import db
from petition.models import AuditEntry, Endorsement, EndorsementStatus, Petition, Signature

from .conftest import TEST_DATABASE_URL, signature_fields
from .test_sign_http import VALID_ENDORSEMENT, VALID_SIGNATURE

# The tables whose ids the audit log's subjects, the workspace's links or other records name.
NEVER_REUSED = {
    "petition",
    "signature",
    "endorsement",
    "organizer",
    "export_manifest",
    "submission",  # its id is in a mailed confirmation link
}


def token(mails, address: str, kind: str) -> str:
    [message] = [m for m in mails.to(address) if "confirm" in m["Subject"].lower()]
    return mails.links(message, kind)[0]


def test_a_withdrawn_signature_s_id_is_not_given_to_the_next_signer(logged_in, petition, mails):
    """The issue's story: hidden, withdrawn, and a new signer must not inherit the entry."""
    client = logged_in
    assert client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE).status_code == 302
    client.post(f"/confirm/{token(mails, 'amina@example.org', 'confirm')}")
    hidden_id = db.session.scalar(select(Signature.id))
    assert client.post(f"/organizer/signatures/{hidden_id}/hide").status_code == 302
    client.post(f"/withdraw/{token(mails, 'amina@example.org', 'withdraw')}")
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 0

    other = {**VALID_SIGNATURE, "full_name": "Karim Benali", "email": "karim@example.org"}
    assert client.post(f"/p/{petition.slug}/sign", data=other).status_code == 302
    new_id = db.session.scalar(select(Signature.id))
    assert new_id != hidden_id
    assert client.get(f"/organizer/signatures/{hidden_id}").status_code == 404
    subjects = db.session.scalars(select(AuditEntry.subject).filter_by(action="hide")).all()
    assert subjects == [f"signature {hidden_id}"]


def test_a_withdrawn_endorsement_s_id_is_not_given_again(logged_in, petition, mails):
    client = logged_in
    assert client.post(f"/p/{petition.slug}/endorse", data=VALID_ENDORSEMENT).status_code == 302
    client.post(f"/confirm/{token(mails, 'jean@example.org', 'confirm')}")
    rejected_id = db.session.scalar(select(Endorsement.id))
    assert client.post(f"/organizer/endorsements/{rejected_id}/reject").status_code == 302
    client.post(f"/withdraw/{token(mails, 'jean@example.org', 'withdraw')}")
    assert db.session.scalar(select(func.count()).select_from(Endorsement)) == 0

    other = {**VALID_ENDORSEMENT, "organization": "Autre", "contact_email": "autre@example.org"}
    assert client.post(f"/p/{petition.slug}/endorse", data=other).status_code == 302
    assert db.session.scalar(select(Endorsement.id)) != rejected_id
    assert db.session.scalar(select(Endorsement.status)) is EndorsementStatus.PENDING


def test_a_deleted_call_s_id_is_not_given_to_the_next_call(make_petition):
    first = make_petition()
    deleted = make_petition()
    deleted_id = deleted.id
    db.session.execute(delete(Petition).where(Petition.id == deleted_id))
    db.session.commit()
    assert make_petition().id not in {first.id, deleted_id}


def test_a_signature_deleted_by_the_domain_leaves_its_id_unused(petition, make_signature):
    from petition import signing

    kept = make_signature(petition, email="kept@example.org")
    last = make_signature(petition, email="last@example.org")
    last_id = last.id
    signing.withdraw(last)
    db.session.commit()
    again = signing.sign(petition, **signature_fields(email="again@example.org"))
    db.session.commit()
    assert again.id > last_id > kept.id


def test_sqlite_tables_named_by_ids_use_autoincrement(app):
    """SQLite gives a deleted highest rowid again unless the table says AUTOINCREMENT."""
    if TEST_DATABASE_URL:
        # PostgreSQL's identity columns never go back: the tests above prove it there.
        assert db.engine.dialect.name == "postgresql"
        return
    rows = db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    with_autoincrement = {name for name, sql in rows if "AUTOINCREMENT" in sql.upper()}
    assert with_autoincrement == NEVER_REUSED
