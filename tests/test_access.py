"""Per-call rights, enumerated from the URL map: an organizer reaches only their own calls."""

import pytest
from sqlalchemy import func, select

from petition import petitions
from petition.extensions import db
from petition.models import (
    DemandTranslation,
    Endorsement,
    EndorsementStatus,
    ExportManifest,
    Petition,
    PetitionTranslation,
    Signature,
    SignatureStatus,
)

from .conftest import log_in
from .test_organizer import build, organizer_rules

# Arguments that name a record: filled with a record of the call the organizer may not touch.
RECORD_ARGUMENTS = {"slug", "signature_id", "endorsement_id", "manifest_id", "organizer_id"}


@pytest.fixture
def setting(app, make_petition, make_signature, make_endorsement, make_organizer, organizer):
    """An organizer given one call, and another call full of data they must not reach."""
    mine, theirs = make_petition(), make_petition(title="Someone else's call")
    signature = make_signature(
        theirs, confirmed=True, email="secret.signer@example.org", show_publicly=True
    )
    endorsement = make_endorsement(theirs, status=EndorsementStatus.AWAITING_APPROVAL)
    manifest = ExportManifest(
        petition_id=theirs.id,
        organizer_id=organizer.id,
        actor=organizer.email,
        who="individuals",
        format="csv",
        filename="x.csv",
        filters={},
    )
    db.session.add(manifest)
    petitions.write_translation(
        theirs, petitions.TranslationContent(language="fr", title="Leur appel", demands=["Un"])
    )
    db.session.commit()
    helper = make_organizer(petitions=[mine])
    return {
        "helper": helper,
        "mine": mine,
        "theirs": theirs,
        "values": {
            "slug": theirs.slug,
            "signature_id": signature.id,
            "endorsement_id": endorsement.id,
            "manifest_id": manifest.id,
            "organizer_id": organizer.id,
            "language": "fr",
        },
    }


def snapshot(theirs_id: int) -> tuple:
    """Everything an action could change about the other call."""
    petition = db.session.get(Petition, theirs_id)
    db.session.refresh(petition)
    return (
        petition.title,
        petition.status,
        petition.purged_at,
        tuple(
            db.session.execute(
                select(Signature.id, Signature.status, Signature.hidden, Signature.full_name).where(
                    Signature.petition_id == theirs_id
                )
            ).all()
        ),
        tuple(
            db.session.execute(
                select(Endorsement.id, Endorsement.status).where(
                    Endorsement.petition_id == theirs_id
                )
            ).all()
        ),
        db.session.scalar(select(func.count()).select_from(Signature)),
        tuple(
            db.session.execute(
                select(PetitionTranslation.language, PetitionTranslation.title).where(
                    PetitionTranslation.petition_id == theirs_id
                )
            ).all()
        ),
        db.session.scalar(select(func.count()).select_from(DemandTranslation)),
    )


def rules_naming_records(app):
    return [r for r in organizer_rules(app) if set(r.arguments) & RECORD_ARGUMENTS]


def test_there_are_call_routes_to_check(app):
    endpoints = {rule.endpoint for rule in rules_naming_records(app)}
    assert {"organizer.petition", "organizer.review", "organizer.export"} <= endpoints
    assert len(endpoints) >= 8


def test_an_organizer_without_rights_to_a_call_reaches_none_of_it(app, client, setting):
    log_in(client, setting["helper"])
    theirs = setting["theirs"]
    before = snapshot(theirs.id)
    checked = 0
    for rule in rules_naming_records(app):
        url = build(rule, setting["values"])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(
                url,
                method=method,
                data={"slug": theirs.slug, "title": "Taken over", "ids": "1", "reason": "x"},
            )
            assert response.status_code in (403, 404), (method, url, response.status_code)
            assert b"secret.signer@example.org" not in response.data, url
            checked += 1
    assert checked >= 10
    assert snapshot(theirs.id) == before
    # And their own call stays reachable: the refusals are about rights, not a broken login.
    assert client.get(f"/organizer/p/{setting['mine'].slug}").status_code == 200


def test_the_workspace_index_lists_only_the_organizers_calls(client, setting):
    log_in(client, setting["helper"])
    page = client.get("/organizer/").get_data(as_text=True)
    assert setting["mine"].title in page
    assert "Someone else&#39;s call" not in page and "Someone else's call" not in page


def test_every_organizer_page_is_marked_no_store(app, logged_in, setting):
    """Signer lists must not stay in a browser or proxy cache, error pages included."""
    values = setting["values"]
    for rule in organizer_rules(app):
        if "GET" not in rule.methods:
            continue
        response = logged_in.get(build(rule, values))
        assert response.status_code < 500, rule.rule
        assert "no-store" in response.headers.get("Cache-Control", ""), rule.rule
    db.session.expire_all()
    assert db.session.get(Signature, values["signature_id"]).status is SignatureStatus.CONFIRMED


def test_no_get_changes_a_call_or_its_signatures(app, logged_in, setting):
    """Every GET of the workspace and of the public site, as an owner: nothing changes.

    (An export download records its manifest and audit entry: a record of the read.)
    """
    theirs = setting["theirs"]
    before = snapshot(theirs.id)
    values = {**setting["values"], "token": "not-a-token", "who": "individuals"}
    fetched = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        response = logged_in.get(build(rule, values))
        assert response.status_code < 500, rule.rule
        fetched += 1
    assert fetched >= 30
    assert snapshot(theirs.id) == before
