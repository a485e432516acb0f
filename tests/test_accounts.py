"""Organizer accounts: roles, invitations, passwords, sessions, per-call rights, the audit log."""

import re

import pytest
from sqlalchemy import select

from petition import audit
from petition.extensions import db
from petition.models import AuditEntry, Organizer, OrganizerRole

from .conftest import ORGANIZER_PASSWORD, log_in

NEW_PASSWORD = "a brand new long passphrase"


def invitation_token(message) -> str:
    return re.search(r"/organizer/invitation/(\S+)", message.get_content()).group(1)


def actions() -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


def test_owner_invites_an_organizer_who_chooses_a_password(
    app, logged_in, petition, make_petition, mails
):
    other = make_petition()
    response = logged_in.post(
        "/organizer/accounts",
        data={"email": "New.Person@example.org", "role": "organizer", "calls": [petition.id]},
    )
    assert response.status_code == 302
    invited = db.session.execute(
        select(Organizer).filter_by(email="new.person@example.org")
    ).scalar_one()
    assert invited.password_hash is None
    assert invited.role is OrganizerRole.ORGANIZER
    assert [p.id for p in invited.petitions] == [petition.id]
    assert "invite_organizer" in actions()

    (message,) = mails.to("new.person@example.org")
    token = invitation_token(message)
    fresh = app.test_client()
    assert fresh.get(f"/organizer/invitation/{token}").status_code == 200
    # Two different passwords: refused, nothing set.
    response = fresh.post(
        f"/organizer/invitation/{token}",
        data={"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD + "x"},
    )
    assert response.status_code == 422
    assert b"The two passwords differ." in response.data
    response = fresh.post(
        f"/organizer/invitation/{token}",
        data={"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    # Logged in, and working only on the call given.
    assert fresh.get(f"/organizer/p/{petition.slug}").status_code == 200
    assert fresh.get(f"/organizer/p/{other.slug}").status_code == 403
    index = fresh.get("/organizer/").get_data(as_text=True)
    assert petition.title in index
    assert f"/organizer/p/{other.slug}" not in index
    # The link works once.
    assert app.test_client().get(f"/organizer/invitation/{token}").status_code == 404
    assert "accept_invitation" in actions()


def test_an_invited_account_cannot_log_in_before_choosing_a_password(app, logged_in, mails):
    logged_in.post("/organizer/accounts", data={"email": "x@example.org", "role": "organizer"})
    response = app.test_client().post(
        "/organizer/login", data={"email": "x@example.org", "password": ""}
    )
    assert response.status_code == 422
    response = app.test_client().post(
        "/organizer/login", data={"email": "x@example.org", "password": "anything at all"}
    )
    assert response.status_code == 401


def test_a_forged_or_expired_invitation_link_is_refused(app, client, organizer):
    assert client.get("/organizer/invitation/not-a-token").status_code == 404
    from petition.tokens import INVITE, make_token

    with app.test_request_context():
        token = make_token(INVITE, "organizer", organizer.id, "0" * 32)
    assert client.get(f"/organizer/invitation/{token}").status_code == 404


@pytest.mark.parametrize(
    "data, message",
    [
        ({"email": "not an address", "role": "organizer"}, b"An email address has an @"),
        ({"email": "organizer@example.org", "role": "organizer"}, b"exists already"),
        ({"email": "y@example.org", "role": "emperor"}, b"Please choose from the list."),
        ({"email": "y@example.org", "role": "organizer", "calls": ["999"]}, b"from the list"),
    ],
)
def test_bad_invitations_are_refused_with_a_message(logged_in, data, message, petition):
    response = logged_in.post("/organizer/accounts", data=data)
    assert response.status_code == 422
    assert message in response.data
    assert db.session.scalar(select(db.func.count()).select_from(Organizer)) == 1


def test_organizers_cannot_manage_accounts(app, client, make_organizer, petition):
    helper = make_organizer(petitions=[petition])
    log_in(client, helper)
    for method, url in [
        ("GET", "/organizer/accounts"),
        ("POST", "/organizer/accounts"),
        ("GET", f"/organizer/accounts/{helper.id}"),
        ("POST", f"/organizer/accounts/{helper.id}"),
        ("POST", f"/organizer/accounts/{helper.id}/invitation"),
    ]:
        response = client.open(
            url, method=method, data={"email": "z@example.org", "role": "owner", "active": "y"}
        )
        assert response.status_code == 403, (method, url)
    db.session.refresh(helper)
    assert helper.role is OrganizerRole.ORGANIZER
    assert db.session.execute(select(Organizer).filter_by(email="z@example.org")).first() is None


def test_owner_changes_role_calls_and_access(app, logged_in, make_organizer, petition):
    helper = make_organizer()
    other = app.test_client()
    log_in(other, helper)
    assert other.get(f"/organizer/p/{petition.slug}").status_code == 403
    response = logged_in.post(
        f"/organizer/accounts/{helper.id}",
        data={"role": "organizer", "active": "y", "calls": [petition.id]},
    )
    assert response.status_code == 302
    assert other.get(f"/organizer/p/{petition.slug}").status_code == 200
    # Taking away access ends the helper's sessions at once.
    logged_in.post(f"/organizer/accounts/{helper.id}", data={"role": "organizer"})
    assert other.get("/organizer/").status_code == 302
    entries = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "edit_organizer")
    ).scalars()
    assert [e.details["changed"] for e in entries] == [["calls"], ["active", "calls"]]


def test_the_last_owner_cannot_be_demoted_or_lock_themselves_out(logged_in, organizer):
    response = logged_in.post(
        f"/organizer/accounts/{organizer.id}", data={"role": "organizer", "active": "y"}
    )
    assert response.status_code == 422
    assert b"your own owner access" in response.data
    db.session.refresh(organizer)
    assert organizer.role is OrganizerRole.OWNER and organizer.active


def test_one_owner_can_demote_another(logged_in, make_organizer):
    second = make_organizer("second@example.org", role="owner")
    response = logged_in.post(
        f"/organizer/accounts/{second.id}", data={"role": "organizer", "active": "y"}
    )
    assert response.status_code == 302
    db.session.refresh(second)
    assert second.role is OrganizerRole.ORGANIZER


def test_change_password_ends_other_sessions(app, logged_in, organizer):
    elsewhere = log_in(app.test_client(), organizer)
    response = logged_in.post(
        "/organizer/password",
        data={
            "current_password": "wrong password here",
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 422
    assert b"not your current password" in response.data
    response = logged_in.post(
        "/organizer/password",
        data={
            "current_password": ORGANIZER_PASSWORD,
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert logged_in.get("/organizer/").status_code == 200  # this session goes on
    assert elsewhere.get("/organizer/").status_code == 302  # the other one is dead
    log_in(app.test_client(), organizer, NEW_PASSWORD)
    assert "change_password" in actions()


def test_short_new_password_is_refused(logged_in):
    response = logged_in.post(
        "/organizer/password",
        data={
            "current_password": ORGANIZER_PASSWORD,
            "new_password": "short",
            "repeat_password": "short",
        },
    )
    assert response.status_code == 422
    assert b"Between 12 and 1024 characters" in response.data


def test_a_session_is_dead_after_logout_even_if_its_cookie_was_copied(app, logged_in):
    (cookie,) = [c for c in logged_in._cookies.values() if c.key == "session"]
    assert logged_in.get("/organizer/").status_code == 200
    logged_in.post("/organizer/logout")
    thief = app.test_client()
    thief.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    response = thief.get("/organizer/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/organizer/login")


def test_cli_creates_owners_and_grants_calls(runner, petition):
    result = runner.invoke(
        args=["organizer", "create", "boss@example.org", "--owner", "--password", NEW_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["organizer", "create", "hand@example.org", "--password", NEW_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["organizer", "grant", "hand@example.org", petition.slug])
    assert result.exit_code == 0, result.output
    boss, hand = (
        db.session.execute(select(Organizer).filter_by(email=e)).scalar_one()
        for e in ("boss@example.org", "hand@example.org")
    )
    assert boss.is_owner and not hand.is_owner
    assert hand.can_work_on(petition)
    entry = db.session.execute(select(AuditEntry).filter_by(action="grant")).scalar_one()
    assert entry.actor == audit.COMMAND_LINE


def test_audit_log_lists_actions_for_owners_and_only_own_calls_for_organizers(
    app, logged_in, client, make_organizer, make_petition, make_endorsement
):
    mine, theirs = make_petition(), make_petition()
    from petition.models import EndorsementStatus

    for petition in (mine, theirs):
        endorsement = make_endorsement(petition, status=EndorsementStatus.AWAITING_APPROVAL)
        assert (
            logged_in.post(f"/organizer/endorsements/{endorsement.id}/approve").status_code == 302
        )
    page = logged_in.get("/organizer/audit").get_data(as_text=True)
    assert page.count("<code>approve</code>") == 2
    assert "organizer@example.org" in page
    page = logged_in.get(f"/organizer/audit?call={mine.slug}").get_data(as_text=True)
    assert page.count("<code>approve</code>") == 1

    helper = make_organizer(petitions=[mine])
    other = log_in(app.test_client(), helper)
    page = other.get("/organizer/audit").get_data(as_text=True)
    assert page.count("<code>approve</code>") == 1
    assert other.get(f"/organizer/audit?call={theirs.slug}").status_code == 404


def test_audit_entries_cannot_be_changed_or_deleted(app, organizer):
    entry = audit.record("test_action", organizer=organizer, subject="signature 1")
    db.session.commit()
    entry.action = "something else"
    with pytest.raises(ValueError, match="never changed"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(entry)
    with pytest.raises(ValueError, match="never deleted"):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry.id).action == "test_action"


def test_no_audit_route_changes_the_log(app):
    rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule]
    assert rules
    assert all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)


def test_a_signers_mailed_link_is_no_invitation(app, client, petition, mails):
    from .test_sign_http import VALID_SIGNATURE

    assert client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE).status_code == 302
    (token,) = mails.links(mails[-1], "confirm")
    assert client.get(f"/organizer/invitation/{token}").status_code == 404
    response = client.post(
        f"/organizer/invitation/{token}",
        data={"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD},
    )
    assert response.status_code == 404
    assert db.session.scalar(select(db.func.count()).select_from(Organizer)) == 0
