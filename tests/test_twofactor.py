"""Two-step sign-in: the code step, enrolment, recovery codes, staff rule, admin reset."""

from __future__ import annotations

import time

import pyotp
import pytest

from portal.audit import AuditEvent
from portal.auth import twofactor
from portal.auth.models import RecoveryCode, Role, User
from tests.conftest import PASSWORD, TOTP_SECRET, answer_two_factor, csrf_token, login, totp_code


def _actions(db) -> list[str]:
    return [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


def _password_step(client, user, next_url: str = ""):
    token = csrf_token(client, "/login")
    path = f"/login?next={next_url}" if next_url else "/login"
    return client.post(path, data={"email": user.email, "password": PASSWORD, "csrf_token": token})


def _post_code(client, code: str, path: str = "/login/two-factor", prefix: str = "", page: str | None = None):
    token = csrf_token(client, page or path)
    return client.post(path, data={f"{prefix}code": code, "csrf_token": token})


def _enrol(client, db, user) -> list[str]:
    """Go through enrolment on the setup page; returns the recovery codes shown."""
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    db.session.refresh(user)
    response = _post_code(client, pyotp.TOTP(user.totp_secret).now(), "/account/two-factor")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    html = response.get_data(as_text=True)
    import re

    return re.findall(r"<code>([a-z0-9-]{19})</code>", html)


# --- the code step of sign-in ---------------------------------------------------


def test_enrolled_staff_must_enter_a_code(client, coach, db):
    response = _password_step(client, coach)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/two-factor")
    # The password alone signs nobody in.
    assert client.get("/account").status_code == 302
    page = client.get("/login/two-factor").get_data(as_text=True)
    assert '<label class="form-label" for="code">Code</label>' in page
    assert 'autocomplete="one-time-code"' in page

    wrong = _post_code(client, "000000" if pyotp.TOTP(TOTP_SECRET).now() != "000000" else "111111")
    assert wrong.status_code == 401
    assert "That code is not right" in wrong.get_data(as_text=True)
    assert client.get("/account").status_code == 302

    ok = _post_code(client, totp_code(coach))
    assert ok.status_code == 302
    assert client.get("/account").status_code == 200
    actions = _actions(db)
    assert actions.index("login.failed") < actions.index("login.success")
    failed = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "login.failed"))
    assert "bad_second_factor" in failed.detail


def test_a_code_works_only_once(app, coach, db):
    code = totp_code(coach)
    first, second = app.test_client(), app.test_client()
    _password_step(first, coach)
    assert _post_code(first, code).status_code == 302
    _password_step(second, coach)
    # Same code again (a replay, or a second server seeing it): refused.
    assert _post_code(second, code).status_code == 401


def test_accept_totp_tolerates_one_step_of_drift_only(coach, db):
    now = time.time()
    totp = pyotp.TOTP(TOTP_SECRET)
    assert twofactor.accept_totp(coach, totp.at(now - 30), now=now)
    assert twofactor.accept_totp(coach, totp.at(now), now=now)  # newer step than the last one used
    assert not twofactor.accept_totp(coach, totp.at(now - 30), now=now)  # older than the last used
    assert not twofactor.accept_totp(coach, totp.at(now + 120), now=now)
    assert not twofactor.accept_totp(coach, "12345x", now=now)


def test_next_page_survives_the_code_step(client, coach):
    _password_step(client, coach, next_url="/account")
    response = answer_two_factor(client, coach)
    assert response.headers["Location"].endswith("/account")


def test_code_step_without_password_step_goes_back_to_login(client):
    response = client.get("/login/two-factor")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_pending_sign_in_expires(client, coach, db):
    from datetime import timedelta

    from portal.auth.models import SessionKind, UserSession

    _password_step(client, coach)
    pending = db.session.scalar(db.select(UserSession).where(UserSession.kind == SessionKind.TWO_FACTOR_PENDING))
    pending.expires_at -= timedelta(minutes=6)
    db.session.commit()
    response = _post_code(client, totp_code(coach), page="/login")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/account").status_code == 302


def test_wrong_codes_lock_the_account(client, coach, db, app):
    _password_step(client, coach)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = _post_code(client, "999999" if pyotp.TOTP(TOTP_SECRET).now() != "999999" else "888888")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    db.session.refresh(coach)
    assert coach.is_locked
    assert "login.lockout" in _actions(db)
    # The locked account cannot finish a sign-in, even with the right code.
    _password_step(client, coach)
    assert client.get("/account").status_code == 302


def test_code_attempts_are_rate_limited(client, coach, app):
    app.config["TWO_FACTOR_RATE_LIMIT"] = "3 per minute"
    app.config["LOGIN_MAX_FAILURES"] = 100
    try:
        _password_step(client, coach)
        statuses = [_post_code(client, "1234567").status_code for _ in range(4)]
    finally:
        app.config.pop("TWO_FACTOR_RATE_LIMIT")
        app.config["LOGIN_MAX_FAILURES"] = 5
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3] == 429


def test_bad_code_input_is_400_not_500(client, coach):
    _password_step(client, coach)
    token = csrf_token(client, "/login/two-factor")
    for data in (
        {"csrf_token": token},
        {"code": "x" * 5000, "csrf_token": token},
        {"code": "12\x003456", "csrf_token": token},
    ):
        assert client.post("/login/two-factor", data=data).status_code == 400
    assert client.post("/login/two-factor", data={"code": "123456"}).status_code == 400  # no CSRF token


# --- recovery codes ----------------------------------------------------------------


def test_recovery_codes_work_once_and_are_stored_hashed(login_as, make_user, db, app):
    user = make_user(Role.PATIENT)
    client = login_as(user)
    codes = _enrol(client, db, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = [rc.code_hash for rc in db.session.scalars(db.select(RecoveryCode).where(RecoveryCode.user_id == user.id))]
    assert len(stored) == 10 and not set(codes) & set(stored)

    fresh = app.test_client()
    _password_step(fresh, user)
    response = _post_code(fresh, codes[0].upper().replace("-", " "))  # forgiving about case and separators
    assert response.status_code == 302
    assert "2fa.recovery_code_used" in _actions(db)
    assert twofactor.recovery_codes_left(user) == 9

    again = app.test_client()
    _password_step(again, user)
    assert _post_code(again, codes[0]).status_code == 401


def test_new_recovery_codes_replace_the_old(login_as, make_user, db, app):
    user = make_user(Role.PATIENT)
    client = login_as(user)
    old = _enrol(client, db, user)
    response = _post_code(
        client, totp_code(user), "/account/two-factor/recovery-codes", prefix="codes-", page="/account/two-factor"
    )
    assert response.status_code == 200
    assert "2fa.recovery_codes_reissued" in _actions(db)
    assert not twofactor.accept_recovery_code(user, old[1])
    # Without a valid app code nothing changes.
    wrong = _post_code(client, "12", "/account/two-factor/recovery-codes", prefix="codes-", page="/account/two-factor")
    assert wrong.status_code == 400
    assert twofactor.recovery_codes_left(user) == 10


# --- enrolment --------------------------------------------------------------------


@pytest.mark.parametrize("role,page", [(Role.ADMIN, "/admin/accounts"), (Role.COACH, "/account")])
def test_staff_cannot_use_the_portal_until_enrolled(client, make_user, db, role, page):
    user = make_user(role, totp_enabled=False, totp_secret=None)
    response = login(client, user)
    assert response.status_code == 302  # signed in with the password...
    blocked = client.get(page)
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account/two-factor")
    setup = client.get("/account/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in setup
    db.session.refresh(user)
    assert twofactor.format_secret(user.totp_secret) in setup
    assert not user.totp_enabled

    wrong = _post_code(client, "12345", "/account/two-factor")
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.get_data(as_text=True)
    db.session.refresh(user)
    assert not user.totp_enabled

    codes = _enrol(client, db, user)
    assert len(codes) == 10
    db.session.refresh(user)
    assert user.totp_enabled
    assert client.get(page).status_code == 200  # ...and may use the portal now
    assert "2fa.enable" in _actions(db)


def test_enrolment_ends_other_sessions(login_as, make_user, db):
    user = make_user(Role.PATIENT)
    other_device = login_as(user)
    client = login_as(user)
    _enrol(client, db, user)
    assert client.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 302


def test_patients_may_opt_in_and_out(login_as, make_user, db, app):
    user = make_user(Role.PATIENT)
    client = login_as(user)  # no code asked before opting in
    assert "Set up two-step sign-in" in client.get("/account").get_data(as_text=True)
    _enrol(client, db, user)
    assert "Manage two-step sign-in" in client.get("/account").get_data(as_text=True)

    fresh = app.test_client()
    response = _password_step(fresh, user)
    assert response.headers["Location"].endswith("/login/two-factor")

    # Turning it off needs a current code.
    assert (
        _post_code(client, "000", "/account/two-factor/disable", prefix="off-", page="/account/two-factor").status_code
        == 400
    )
    response = _post_code(
        client, totp_code(user), "/account/two-factor/disable", prefix="off-", page="/account/two-factor"
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert not user.totp_enabled and user.totp_secret is None
    assert "2fa.disable" in _actions(db)
    assert client.get("/account").status_code == 200  # this browser stays signed in
    assert not _password_step(app.test_client(), user).headers["Location"].endswith("/login/two-factor")


def test_staff_replacing_their_authenticator_must_enrol_again(coach_client, coach, db):
    response = _post_code(
        coach_client, totp_code(coach), "/account/two-factor/disable", prefix="off-", page="/account/two-factor"
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/two-factor")
    blocked = coach_client.get("/account")
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account/two-factor")


# --- admin reset ---------------------------------------------------------------------


def _reset(client, user_id: int, with_token: bool = True):
    data = {"csrf_token": csrf_token(client, "/account")} if with_token else {}
    return client.post(f"/admin/accounts/{user_id}/reset-two-factor", data=data)


def test_admin_resets_a_staff_members_second_factor(admin_client, login_as, coach, db, admin):
    coach_session = login_as(coach)
    page = admin_client.get(f"/admin/accounts/{coach.id}").get_data(as_text=True)
    assert "Reset two-step sign-in" in page
    response = _reset(admin_client, coach.id)
    assert response.status_code == 302
    db.session.refresh(coach)
    assert not coach.totp_enabled and coach.totp_secret is None
    assert db.session.scalar(db.select(RecoveryCode).where(RecoveryCode.user_id == coach.id)) is None
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "2fa.reset"))
    assert event.actor_id == admin.id and event.target_id == coach.id
    assert coach_session.get("/account").status_code == 302  # signed out everywhere
    # At the next sign-in the coach is sent to set up a new authenticator.
    fresh = login_as(coach)
    assert fresh.get("/account").headers["Location"].endswith("/account/two-factor")


def test_reset_is_for_admins_only_with_csrf_and_not_on_self(admin_client, coach_client, admin, coach, db):
    assert _reset(coach_client, admin.id).status_code == 403
    assert _reset(admin_client, coach.id, with_token=False).status_code == 400
    assert _reset(admin_client, 999999).status_code == 404
    assert _reset(admin_client, admin.id).status_code == 303
    db.session.refresh(admin)
    db.session.refresh(coach)
    assert admin.totp_enabled and coach.totp_enabled
    assert "2fa.reset" not in _actions(db)


def test_demo_staff_are_enrolled_with_the_documented_secret(app, db):
    from portal.demo import DEMO_TOTP_SECRET, seed_accounts

    seed_accounts()
    staff = db.session.scalars(db.select(User).where(User.role != Role.PATIENT)).all()
    assert staff and all(u.totp_enabled and u.totp_secret == DEMO_TOTP_SECRET for u in staff)
