"""An invitation ends signed in: a patient on Today, staff on two-step enrolment."""

from __future__ import annotations

from flask import Flask

from portal.audit import AuditEvent
from portal.auth import tokens
from portal.auth.accounts import update_account
from portal.auth.models import Role

NEW_PASSWORD = "maple-lantern-orbit-88"


def _accept(app: Flask, user) -> tuple:
    client = app.test_client()
    token = tokens.make_token(user, tokens.INVITE)
    assert client.get(f"/invitation?token={token}").status_code == 302  # the token moves into the session
    page = client.get("/invitation").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/invitation", data={"csrf_token": csrf, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    return client, response


def test_patient_who_accepts_an_invitation_is_signed_in_on_today(app, db, make_user, coach):
    patient = make_user(Role.PATIENT, coach=coach, password=None, phone="214-555-0100")
    client, response = _accept(app, patient)
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/"  # Today
    today = client.get("/me/")
    assert today.status_code == 200
    assert "Your password is set and you are signed in" in today.get_data(as_text=True)
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent).where(AuditEvent.actor_id == patient.id))]
    assert "invitation.accepted" in actions and "login.success" in actions


def test_staff_who_accept_an_invitation_go_straight_to_enrolment(app, db, make_user):
    for role in (Role.COACH, Role.ADMIN):
        staff = make_user(role, password=None, totp_secret=None, totp_enabled=False)
        client, response = _accept(app, staff)
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/account/two-factor")
        setup = client.get(response.headers["Location"])
        assert setup.status_code == 200
        assert "Next, set up two-step sign-in" in setup.get_data(as_text=True)


def test_a_bad_invitation_signs_nobody_in(app, db, make_user):
    client = app.test_client()
    client.get("/invitation?token=forged")
    response = client.post("/invitation", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert client.get("/me/").status_code == 302  # still signed out: sent to the login page


def _change_email(db, user, admin, new_email: str) -> None:
    """What the admin's account form does when only the email changes."""
    update_account(
        user,
        email=new_email,
        name=user.name,
        role=user.role,
        clinic_id=user.clinic_id,
        coach_id=user.coach_id,
        phone=user.phone or "",
        actor=admin,
    )
    db.session.commit()


def test_links_sent_before_an_email_change_stop_working(app, db, make_user, coach, admin):
    """A link mailed to the old address must not open the account once an admin changed its email."""
    invited = make_user(Role.PATIENT, coach=coach, password=None, email="old-invite@example.com")
    reset_user = make_user(Role.PATIENT, coach=coach, email="old-reset@example.com")
    invitation = tokens.make_token(invited, tokens.INVITE)
    reset = tokens.make_token(reset_user, tokens.RESET)
    assert tokens.user_from_token(invitation, tokens.INVITE) == invited
    assert tokens.user_from_token(reset, tokens.RESET) == reset_user

    _change_email(db, invited, admin, "new-invite@example.com")
    _change_email(db, reset_user, admin, "new-reset@example.com")

    assert tokens.user_from_token(invitation, tokens.INVITE) is None
    assert tokens.user_from_token(reset, tokens.RESET) is None
    client = app.test_client()
    client.get(f"/invitation?token={invitation}")
    response = client.post("/invitation", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    client.get(f"/password/reset?token={reset}")
    response = client.post("/password/reset", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    db.session.expire_all()
    assert invited.password_hash is None
    # A link made after the change works: only the old address lost its way in.
    assert tokens.user_from_token(tokens.make_token(invited, tokens.INVITE), tokens.INVITE) == invited


def test_a_change_of_case_alone_keeps_the_link(db, make_user, coach, admin):
    """Emails are case-insensitive: the same address typed with capitals is no change of address."""
    user = make_user(Role.PATIENT, coach=coach, email="same@example.com")
    token = tokens.make_token(user, tokens.RESET)
    user.email = "Same@Example.com"
    assert tokens.user_from_token(token, tokens.RESET) == user
