"""The signing domain without HTTP: normalization, duplicates, mails, confirmation, withdrawal."""

import threading
import unicodedata
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from petition import mail, moderation, rules, signing
from petition.errors import EndorsementsNotCollected, InvalidTransition, PetitionClosed
from petition.extensions import db
from petition.models import (
    Endorsement,
    EndorsementStatus,
    OutgoingMail,
    PetitionStatus,
    Signature,
    SignatureStatus,
    utcnow,
)

from .conftest import days_ago, endorsement_fields, signature_fields


def count(model, **filters) -> int:
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Amina   Diallo ", "Amina Diallo"),
        ("Amina\r\nDiallo", "Amina Diallo"),
        ("Amina\tDiallo", "Amina Diallo"),
        ("Amina\u00a0Diallo", "Amina Diallo"),
        ("Jose\u0301", "Jos\u00e9"),  # decomposed accent becomes one character (NFC)
        ("\u200cمریم\u200c", "مریم"),
        ("نیم\u200cفاصله", "نیم\u200cفاصله"),  # ZWNJ inside a Persian word is kept
        (None, ""),
    ],
)
def test_clean_text(raw, clean):
    assert rules.clean_text(raw) == clean


@pytest.mark.parametrize(
    "text",
    ["A\x00B", "A\u202eB", "A\u200bB", "A\ufeffB", "A\u2066B", "A\x07B", "A\ue000B"],
)
def test_forbidden_characters_are_found(text):
    assert rules.has_forbidden_characters(text)


@pytest.mark.parametrize(
    "text", ["Amina Diallo", "مریم نیم\u200cفاصله", "Łódź", "👩\u200d👩\u200d👧"]
)
def test_ordinary_text_is_allowed(text):
    assert not rules.has_forbidden_characters(text)


@given(st.text())
def test_clean_text_is_idempotent_and_nfc(text):
    once = rules.clean_text(text)
    assert rules.clean_text(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert "\n" not in once and "\r" not in once and "\t" not in once
    assert once == once.strip()


@pytest.mark.parametrize(
    "variant",
    [
        "amina@example.org",
        "AMINA@EXAMPLE.ORG",
        "Amina@Example.Org",
        "amina@ＥＸＡＭＰＬＥ.org",  # fullwidth domain
        "  amina@example.org  ".strip(),
    ],
)
def test_email_key_is_the_same_for_variants(variant):
    assert rules.email_key(variant) == "amina@example.org"


def test_email_key_distinguishes_addresses():
    assert rules.email_key("amina+calais@example.org") != rules.email_key("amina@example.org")


@given(st.sampled_from(["amina", "Jean.Martin", "zoë", "o'brien"]), st.booleans())
def test_email_key_ignores_case(local, upper):
    address = f"{local}@example.org"
    variant = address.upper() if upper else address
    assert rules.email_key(variant) == rules.email_key(address)


def test_sign_stores_a_pending_signature_and_queues_a_confirmation(app, petition, mails):
    signature = signing.sign(petition, **signature_fields(), ip="203.0.113.7", locale="en")
    db.session.commit()
    assert signature.status is SignatureStatus.PENDING
    assert signature.confirmed_at is None
    assert signature.email_normalized == "amina@example.org"
    assert signature.privacy_notice_version == app.config["PRIVACY_NOTICE_VERSION"]
    assert signature.consent_at is not None
    assert signature.ip_hash and "203.0.113.7" not in signature.ip_hash
    assert len(signature.token_key) == 32  # 128 random bits
    assert count(OutgoingMail, signature_id=signature.id) == 1


def test_the_origin_hash_is_keyed_by_a_key_of_the_day(app):
    from datetime import timedelta

    from petition import origins

    now = utcnow()
    first = origins.origin_hash("203.0.113.7", now)
    assert first == origins.origin_hash("203.0.113.7", now)
    assert first != origins.origin_hash("203.0.113.8", now)
    assert origins.origin_hash("203.0.113.7", now + timedelta(days=1)) != first


def test_duplicate_signature_keeps_one_row_and_resends(petition, make_signature):
    first = make_signature(petition)
    again = signing.sign(petition, **signature_fields(email="AMINA@example.org", full_name="X"))
    db.session.commit()
    assert again.id == first.id
    assert again.full_name == "Amina Diallo"  # the duplicate changed nothing
    assert count(Signature) == 1
    assert count(OutgoingMail, signature_id=first.id) == 2


def test_duplicate_of_confirmed_signature_gets_an_already_signed_notice(
    petition, make_signature, mails
):
    make_signature(petition, confirmed=True)
    mail.send_pending()
    mails.clear()
    signing.sign(petition, **signature_fields())
    db.session.commit()
    mail.send_pending()
    (notice,) = mails
    assert "already signed" in notice["Subject"]
    assert "/confirm/" not in notice.get_content()
    assert "/withdraw/" in notice.get_content()


def test_no_more_than_five_mails_per_signature(app, petition):
    for _ in range(8):
        signature = signing.sign(petition, **signature_fields())
        db.session.commit()
    db.session.refresh(signature)
    assert signature.mails_sent == 5
    assert count(OutgoingMail, signature_id=signature.id) == 5


def test_same_email_may_sign_two_calls(petition, make_petition):
    other = make_petition()
    signing.sign(petition, **signature_fields())
    signing.sign(other, **signature_fields())
    db.session.commit()
    assert count(Signature) == 2


@pytest.mark.parametrize(
    "overrides",
    [{"status": PetitionStatus.CLOSED}, {"closes_at": days_ago(1)}],
)
def test_closed_call_refuses_signatures(make_petition, overrides):
    petition = make_petition(**overrides)
    with pytest.raises(PetitionClosed):
        signing.sign(petition, **signature_fields())
    with pytest.raises(PetitionClosed):
        signing.endorse(petition, **endorsement_fields())
    db.session.rollback()
    assert count(Signature) == 0 and count(Endorsement) == 0


def test_call_open_until_its_closing_date(make_petition):
    petition = make_petition(closes_at=utcnow() + timedelta(hours=1))
    assert petition.is_open()
    assert not petition.is_open(utcnow() + timedelta(hours=2))


def test_racing_identical_signatures_store_one_row(app, petition):
    """Two threads, two connections, the same address at the same moment."""
    barrier = threading.Barrier(4)
    results, errors = [], []
    # Read here: touching the test's own (expired) object from the threads would make
    # them share its session.
    petition_id = petition.id

    def sign_once(email):
        with app.app_context():
            try:
                target = db.session.get(type(petition), petition_id)
                barrier.wait(timeout=10)
                signature = signing.sign(target, **signature_fields(email=email))
                db.session.commit()
                results.append(signature.id)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    variants = ["amina@example.org", "AMINA@example.org", "Amina@EXAMPLE.org", "amina@example.org"]
    threads = [threading.Thread(target=sign_once, args=(v,)) for v in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(set(results)) == 1 and len(results) == 4
    assert count(Signature) == 1


def test_confirm_is_idempotent(petition, make_signature):
    signature = make_signature(petition)
    assert signing.confirm(signature) is True
    confirmed_at = signature.confirmed_at
    assert signing.confirm(signature) is False
    assert signature.status is SignatureStatus.CONFIRMED
    assert signature.confirmed_at == confirmed_at


def test_withdraw_deletes_the_signature_and_its_queued_mails(petition, make_signature):
    signature = make_signature(petition)
    signing.withdraw(signature)
    db.session.commit()
    assert count(Signature) == 0
    assert count(OutgoingMail) == 0


def test_endorsement_lifecycle(petition, organizer):
    endorsement = signing.endorse(petition, **endorsement_fields())
    assert endorsement.status is EndorsementStatus.PENDING
    with pytest.raises(InvalidTransition):
        moderation.approve(endorsement, organizer)  # not confirmed by its contact yet
    signing.confirm(endorsement)
    assert endorsement.status is EndorsementStatus.AWAITING_APPROVAL
    moderation.approve(endorsement, organizer)
    assert endorsement.status is EndorsementStatus.APPROVED
    assert endorsement.reviewed_by_id == organizer.id
    with pytest.raises(InvalidTransition):
        moderation.approve(endorsement, organizer)
    moderation.reject(endorsement, organizer)
    assert endorsement.status is EndorsementStatus.REJECTED


def test_duplicate_endorsement_keeps_one_row(petition):
    first = signing.endorse(petition, **endorsement_fields())
    again = signing.endorse(
        petition, **endorsement_fields(contact_email="JEAN@example.org", organization="Other")
    )
    db.session.commit()
    assert again.id == first.id and again.organization == "Collectif Solidarité"
    assert count(Endorsement) == 1


def test_call_without_endorsements_refuses_them(make_petition):
    petition = make_petition(collects_endorsements=False)
    with pytest.raises(EndorsementsNotCollected):
        signing.endorse(petition, **endorsement_fields())


def test_database_refuses_a_second_row_for_the_same_address(petition, make_signature):
    """The unique constraint holds even for code that skips the domain function."""
    from sqlalchemy.exc import IntegrityError

    first = make_signature(petition)
    clone = Signature(
        petition_id=petition.id,
        full_name="Clone",
        email="amina@example.org",
        email_normalized=first.email_normalized,
        city="X",
        country="FR",
        consent_at=utcnow(),
        privacy_notice_version="v",
        token_key="0" * 32,
    )
    db.session.add(clone)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
