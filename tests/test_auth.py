"""Sign-in, lockout, sessions, passwords and reset links."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.audit import AuditEvent
from portal.auth import tokens
from portal.auth.models import Role
from portal.auth.passwords import password_problems, verify_password
from portal.mail import OutboundEmail
from portal.timeutil import utcnow
from tests.conftest import PASSWORD, change_password, csrf_token, login


def _actions(db) -> list[str]:
    return [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


def test_login_page_has_named_fields(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<label class="form-label" for="email">Email</label>' in html
    assert '<label class="form-label" for="password">Password</label>' in html
    assert 'value="Log in"' in html


@pytest.mark.parametrize("role,home", [(Role.PATIENT, "/me/"), (Role.COACH, "/coach/"), (Role.ADMIN, "/outcomes/")])
def test_each_role_lands_on_its_home(make_user, client, role, home, app):
    user = make_user(role)
    response = login(client, user)
    assert response.status_code == 302
    expected_endpoint = {Role.PATIENT: "patients.today", Role.COACH: "coaching.roster", Role.ADMIN: "outcomes.page"}[
        role
    ]
    if expected_endpoint in app.view_functions:
        assert response.headers["Location"].startswith(home)


def test_email_is_case_insensitive(client, patient):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": patient.email.upper(), "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.parametrize(
    "email,password", [("pat.patient@example.org", "wrong-password-123"), ("nobody@example.org", PASSWORD)]
)
def test_one_message_for_every_failed_login(client, patient, email, password):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 401
    assert "Invalid email or password." in response.get_data(as_text=True)


def test_lockout_after_repeated_failures(client, patient, db, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        token = csrf_token(client, "/login")
        client.post("/login", data={"email": patient.email, "password": "wrong-password-123", "csrf_token": token})
    db.session.refresh(patient)
    assert patient.is_locked
    # Even the right password is refused while locked, with the same message.
    response = login(client, patient)
    assert response.status_code == 401
    assert "Invalid email or password." in response.get_data(as_text=True)
    assert "login.lockout" in _actions(db)
    # After the lock expires the right password works again.
    patient.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert login(client, patient).status_code == 302


def test_inactive_account_cannot_log_in(client, patient, db):
    patient.is_active = False
    db.session.commit()
    assert login(client, patient).status_code == 401


def test_login_rate_limited(client, patient, app):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        statuses = []
        for _ in range(5):
            token = csrf_token(client, "/login")
            statuses.append(
                client.post(
                    "/login", data={"email": "x@example.org", "password": "nope-nope-nope", "csrf_token": token}
                ).status_code
            )
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3] == 429


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/account", "/account"),
        ("//evil.example/x", None),
        ("https://evil.example/", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
    ],
)
def test_next_only_same_site(client, patient, target, expected):
    token = csrf_token(client, "/login")
    response = client.post(
        f"/login?next={target}", data={"email": patient.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    if expected:
        assert location.endswith(expected)
    else:
        assert "evil" not in location and "javascript" not in location


def test_logout_is_post_only_and_ends_session(patient_client, db):
    assert patient_client.get("/logout").status_code == 405
    token = csrf_token(patient_client, "/account")
    response = patient_client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert patient_client.get("/account").status_code == 302
    assert "logout" in _actions(db)


def test_session_cookie_flags(client, patient):
    response = login(client, patient)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_password_change_ends_other_sessions(login_as, patient, db):
    first = login_as(patient)
    second = login_as(patient)
    new_password = "a-brand-new-passphrase-77"
    response = change_password(first, PASSWORD, new_password)
    assert response.status_code == 302
    assert first.get("/account").status_code == 200  # this device stays signed in
    assert second.get("/account").status_code == 302  # the other one is signed out
    db.session.refresh(patient)
    assert verify_password(patient.password_hash, new_password)
    assert patient.password_hash.startswith("$argon2id$")


def test_password_change_rejects_weak_and_wrong_current(patient_client, patient, db):
    token = csrf_token(patient_client, "/account")
    response = change_password(patient_client, PASSWORD, "password1234", token=token)
    assert response.status_code == 400
    assert "too common" in response.get_data(as_text=True)
    response = change_password(patient_client, "not-my-password-1", "fresh-unusual-phrase-9", token=token)
    assert response.status_code == 400
    assert "not your current password" in response.get_data(as_text=True)


def test_password_policy():
    assert password_problems("short")
    assert password_problems("password1234")  # common
    assert password_problems("aaaaaaaaaaaaaa")  # too few distinct characters
    assert not password_problems("lemon-river-tractor-52")


def test_forgot_password_same_answer_and_single_use_token(client, patient, db):
    def ask(email):
        token = csrf_token(client, "/password/forgot")
        return client.post("/password/forgot", data={"email": email, "csrf_token": token}, follow_redirects=True)

    unknown = ask("nobody@example.org").get_data(as_text=True)
    known = ask(patient.email).get_data(as_text=True)
    message = "If an account uses that email"
    assert message in unknown and message in known
    mail = db.session.scalars(db.select(OutboundEmail)).one()
    assert mail.to_address == patient.email
    link = re.search(r"http://127\.0\.0\.1:5000(/password/reset\?token=\S+)", mail.body).group(1)
    # The secret rides in the query string, which the production access log format leaves out.
    assert urlsplit(link).path == "/password/reset" and len(parse_qs(urlsplit(link).query)["token"][0]) > 40
    form_token = csrf_token(client, link)
    new_password = "sunlit-harbor-violin-31"
    response = client.post(link, data={"password": new_password, "confirm": new_password, "csrf_token": form_token})
    assert response.status_code == 302
    # The same link cannot be used twice.
    assert client.get(link, follow_redirects=True).status_code == 400


def test_the_link_token_leaves_the_url_on_the_first_visit(client, patient, db):
    token = tokens.make_token(patient)
    first = client.get(f"/password/reset?token={token}")
    # Moved into the session: the page and everything after it have a token-free URL.
    assert first.status_code == 302 and first.headers["Location"] == "/password/reset"
    page = client.get("/password/reset")
    assert page.status_code == 200 and token not in page.get_data(as_text=True)
    form_token = csrf_token(client, "/password/reset")
    new_password = "quiet-meadow-lantern-58"
    response = client.post(
        "/password/reset", data={"password": new_password, "confirm": new_password, "csrf_token": form_token}
    )
    assert response.status_code == 302
    assert login(client, patient, new_password).status_code == 302
    assert login(client, patient, new_password).status_code == 302


def test_reset_token_expires(app, patient, db):
    token = tokens.make_token(patient)
    assert tokens.user_from_token(token) == patient
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    try:
        assert tokens.user_from_token(token) is None
    finally:
        app.config["PASSWORD_RESET_MAX_AGE"] = 7200
    assert tokens.user_from_token("garbage") is None
    assert tokens.user_from_token(token, tokens.INVITE) is None  # purposes do not mix


def _age_sessions(db, user, minutes: float) -> None:
    """Move the user's last activity back, as if they had been idle that long."""
    from datetime import timedelta

    from portal.auth.models import UserSession

    for row in db.session.scalars(db.select(UserSession).where(UserSession.user_id == user.id)):
        row.last_active_at -= timedelta(minutes=minutes)
        row.created_at -= timedelta(minutes=minutes)
    db.session.commit()


def test_staff_idle_timeout(coach_client, coach, app, db):
    _age_sessions(db, coach, app.config["STAFF_IDLE_MINUTES"] + 1)
    response = coach_client.get("/account")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert coach_client.get("/account").status_code == 302


def test_patient_idle_limit_is_longer_than_staff(patient_client, patient, app, db):
    _age_sessions(db, patient, app.config["STAFF_IDLE_MINUTES"] + 1)
    assert patient_client.get("/account").status_code == 200
    _age_sessions(db, patient, app.config["PATIENT_IDLE_MINUTES"] + 1)
    assert patient_client.get("/account").status_code == 302


def test_deactivation_ends_sessions(patient_client, patient, db):
    from portal.auth.accounts import set_active

    set_active(patient, False)
    db.session.commit()
    assert patient_client.get("/account").status_code == 302


def test_preferences_reminder_time(patient_client, patient, db):
    token = csrf_token(patient_client, "/account")
    response = patient_client.post(
        "/account",
        data={
            "prefs-reminder_time": "19:30",
            "prefs-email_notifications": "y",
            "prefs-submit": "Save preferences",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    db.session.refresh(patient)
    assert patient.reminder_time.strftime("%H:%M") == "19:30"
    response = patient_client.post(
        "/account", data={"prefs-reminder_time": "25:99", "prefs-submit": "Save preferences", "csrf_token": token}
    )
    assert response.status_code == 400
    db.session.refresh(patient)
    assert patient.reminder_time.strftime("%H:%M") == "19:30"


def test_login_audited(client, patient, db):
    login(client, patient)
    assert "login.success" in _actions(db)
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "login.success")).one()
    assert event.actor_id == patient.id and event.ip == "127.0.0.1"


def test_unknown_user_failure_audited_without_password(client, db):
    token = csrf_token(client, "/login")
    client.post("/login", data={"email": "ghost@example.org", "password": "secret-guess-1234", "csrf_token": token})
    event = db.session.scalars(db.select(AuditEvent)).one()
    assert event.action == "login.failed"
    assert "secret-guess" not in event.detail
