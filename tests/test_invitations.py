"""An invitation ends signed in: a patient on Today, staff on two-step enrolment."""

from __future__ import annotations

from flask import Flask

from portal.audit import AuditEvent
from portal.auth import tokens
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
