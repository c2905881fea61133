"""Server-side sessions: sign-out, idle and absolute limits, the pending two-step challenge,
"Your sessions", an admin ending someone's sessions, and authenticator secrets encrypted at rest.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from flask_migrate import upgrade
from sqlalchemy import text

from config import ProductionConfig, TestingConfig
from portal import crypto
from portal.app import create_app
from portal.audit import AuditEvent
from portal.auth import sessions, twofactor
from portal.auth.models import SessionKind, User, UserSession
from portal.extensions import db as _db
from tests.conftest import PASSWORD, TOTP_SECRET, answer_two_factor, csrf_token, login
from tests.dbutil import create_postgres_database, drop_postgres_database, is_postgres

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
LAPTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)


def _is_login_page(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].split("?")[0].endswith("/login")


def _rows(db, user) -> list[UserSession]:
    return list(db.session.scalars(db.select(UserSession).where(UserSession.user_id == user.id)))


def _browser_rows(db, user) -> list[UserSession]:
    return [row for row in _rows(db, user) if row.kind == SessionKind.BROWSER]


def _shift(db, user, *, idle: timedelta = timedelta(0), age: timedelta = timedelta(0)) -> None:
    """Move the user's sessions into the past: ``idle`` since last activity, ``age`` since sign-in."""
    for row in _rows(db, user):
        row.last_active_at -= idle
        row.created_at -= age
        row.expires_at -= age
    db.session.commit()


def _signed_in(app, user, user_agent: str = LAPTOP_UA):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    assert login(client, user).status_code == 302
    return client


def _copy_of(app, client):
    """Another client carrying the same cookies (a cookie stolen or copied from the browser)."""
    thief = app.test_client()
    for cookie in client._cookies.values():
        thief.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return thief


def _actions(db) -> list[str]:
    return [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


# --- sign-out ends the session on the server ---------------------------------------


def test_a_cookie_copied_before_logout_gets_the_login_page(app, patient, db):
    browser = _signed_in(app, patient)
    copied = _copy_of(app, browser)
    assert copied.get("/me/").status_code == 200
    token = csrf_token(browser, "/account")
    assert _is_login_page(browser.post("/logout", data={"csrf_token": token}))
    assert _browser_rows(db, patient) == []
    for path in ("/me/", "/me/export.json", "/account"):
        response = copied.get(path)
        assert _is_login_page(response), path
        assert "Set-Cookie" not in response.headers or "_user_id" not in response.headers.get("Set-Cookie", "")


def test_the_cookie_holds_a_random_secret_and_the_table_only_its_hash(app, patient, db):
    browser = _signed_in(app, patient)
    with browser.session_transaction() as cookie:
        secret = cookie["_user_id"]
    assert len(secret) >= 40 and str(patient.id) != secret
    (row,) = _browser_rows(db, patient)
    assert row.secret_hash == sessions.hash_secret(secret) and secret not in row.secret_hash
    # A database dump yields the hash, which is no cookie.
    forged = app.test_client()
    with forged.session_transaction() as cookie:
        cookie["_user_id"] = row.secret_hash
    assert _is_login_page(forged.get("/me/"))


# --- idle and absolute limits, from the first response of a session --------------------


def test_staff_idle_limit_holds_for_the_session_made_by_the_code_step(app, coach, db, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_IDLE_MINUTES", 1)
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"email": coach.email, "password": PASSWORD, "csrf_token": token})
    first = answer_two_factor(client, coach)  # the very first response of the session
    assert first.status_code == 302 and not _is_login_page(first)
    _shift(db, coach, idle=timedelta(seconds=75))
    response = client.get("/coach/")
    assert _is_login_page(response)
    assert _browser_rows(db, coach) == []  # ended on the server, not only in this browser
    assert "inactivity" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_patient_idle_limit(app, patient, db, monkeypatch):
    monkeypatch.setitem(app.config, "PATIENT_IDLE_MINUTES", 5)
    client = _signed_in(app, patient)
    _shift(db, patient, idle=timedelta(minutes=4))
    assert client.get("/me/").status_code == 200
    _shift(db, patient, idle=timedelta(minutes=6))
    assert _is_login_page(client.get("/me/"))


def test_absolute_limit_ends_an_active_session(app, patient, db):
    client = _signed_in(app, patient)
    (row,) = _browser_rows(db, patient)
    assert row.expires_at - row.created_at == app.permanent_session_lifetime
    _shift(db, patient, age=app.permanent_session_lifetime + timedelta(minutes=1))
    (row,) = _browser_rows(db, patient)
    row.last_active_at = row.expires_at  # busy until the end: the absolute limit still applies
    db.session.commit()
    assert _is_login_page(client.get("/me/"))
    assert _browser_rows(db, patient) == []


def test_activity_is_written_at_most_once_a_minute(app, patient, db, queries):
    client = _signed_in(app, patient)
    (row,) = _browser_rows(db, patient)
    stamped = row.last_active_at
    with queries() as statements:
        for _ in range(3):
            assert client.get("/account").status_code == 200
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE USER_SESSION")]
    _shift(db, patient, idle=timedelta(seconds=61))
    with queries() as statements:
        assert client.get("/account").status_code == 200
    assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE USER_SESSION")]) == 1
    db.session.expire_all()
    assert _browser_rows(db, patient)[0].last_active_at >= stamped


# --- the pending step between password and code -----------------------------------------


def test_the_pending_cookie_holds_no_session_material(app, client, coach, db):
    token = csrf_token(client, "/login")
    client.post("/login", data={"email": coach.email, "password": PASSWORD, "csrf_token": token})
    with client.session_transaction() as cookie:
        pending = dict(cookie[twofactor.PENDING_KEY])
        assert "_user_id" not in cookie
    (row,) = _rows(db, coach)
    assert row.kind == SessionKind.TWO_FACTOR_PENDING and row.expires_at - row.created_at <= timedelta(minutes=5)
    assert pending["challenge"] != row.secret_hash
    # The pending secret opens no page.
    forged = app.test_client()
    with forged.session_transaction() as cookie:
        cookie["_user_id"] = pending["challenge"]
    assert _is_login_page(forged.get("/account"))


@pytest.mark.parametrize(
    "pending",
    [
        {"challenge": "forged-challenge-value-0123456789abcdef"},
        {"token": "whatever-the-old-cookie-held"},
        {"challenge": None},
        "not-a-dict",
    ],
)
def test_a_forged_pending_cookie_gets_the_login_page(app, coach, pending):
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie[twofactor.PENDING_KEY] = pending
    assert _is_login_page(client.get("/login/two-factor"))
    response = client.post("/login/two-factor", data={"code": "123456"})
    assert response.status_code in (302, 400) and client.get("/account").status_code == 302


def test_a_replayed_pending_cookie_gets_the_login_page(app, client, coach, db):
    token = csrf_token(client, "/login")
    client.post("/login", data={"email": coach.email, "password": PASSWORD, "csrf_token": token})
    replay = _copy_of(app, client)
    assert not _is_login_page(answer_two_factor(client, coach))
    assert [row.kind for row in _rows(db, coach)] == [SessionKind.BROWSER]  # the challenge is used up
    assert _is_login_page(replay.get("/login/two-factor"))


# --- "Your sessions" ------------------------------------------------------------------


def test_your_sessions_lists_each_device_and_marks_this_one(app, patient, db):
    laptop = _signed_in(app, patient, LAPTOP_UA)
    _signed_in(app, patient, PHONE_UA)
    html = laptop.get("/account").get_data(as_text=True)
    assert "Your sessions" in html
    assert "Chrome 131" in html and "Windows" in html and "Mobile Safari 17" in html and "iOS" in html
    assert html.count("This device") == 1
    assert html.count('action="/account/sessions/') == 1 + 1  # one "End session" (the phone), one "End all other"
    assert "End all other sessions" in html


def test_ending_another_of_your_sessions_signs_that_device_out(app, patient, db):
    laptop = _signed_in(app, patient, LAPTOP_UA)
    phone = _signed_in(app, patient, PHONE_UA)
    phone_row = next(row for row in _browser_rows(db, patient) if "iOS" in row.device)
    token = csrf_token(laptop, "/account")
    response = laptop.post(f"/account/sessions/{phone_row.id}/end", data={"csrf_token": token})
    assert response.status_code == 302
    assert _is_login_page(phone.get("/me/"))
    assert laptop.get("/me/").status_code == 200
    assert "session.end" in _actions(db)


def test_someone_elses_session_is_not_found(app, patient, make_user, db):
    other = make_user(name="Other Patient")
    other_client = _signed_in(app, other)
    (other_row,) = _browser_rows(db, other)
    client = _signed_in(app, patient)
    token = csrf_token(client, "/account")
    assert client.post(f"/account/sessions/{other_row.id}/end", data={"csrf_token": token}).status_code == 404
    assert client.post("/account/sessions/99999999/end", data={"csrf_token": token}).status_code == 404
    assert other_client.get("/me/").status_code == 200
    assert client.post(f"/account/sessions/{other_row.id}/end").status_code == 400  # no CSRF token


def test_end_all_other_sessions_keeps_this_one(app, patient, db):
    here = _signed_in(app, patient)
    elsewhere = [_signed_in(app, patient, PHONE_UA) for _ in range(2)]
    token = csrf_token(here, "/account")
    response = here.post("/account/sessions/end-others", data={"csrf_token": token}, follow_redirects=True)
    assert "2 other sessions have ended." in response.get_data(as_text=True)
    assert all(_is_login_page(client.get("/me/")) for client in elsewhere)
    assert here.get("/me/").status_code == 200 and len(_browser_rows(db, patient)) == 1


def test_password_change_ends_other_sessions_and_keeps_this_one(app, patient, db):
    here = _signed_in(app, patient)
    other = _signed_in(app, patient, PHONE_UA)
    new_password = "another-long-passphrase-31"
    token = csrf_token(here, "/account")
    response = here.post(
        "/account",
        data={
            "pw-current_password": PASSWORD,
            "pw-password": new_password,
            "pw-confirm": new_password,
            "pw-submit": "Change password",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert _is_login_page(other.get("/me/"))
    assert here.get("/me/").status_code == 200
    assert len(_browser_rows(db, patient)) == 1


def test_deactivation_deletes_every_session(app, patient, db):
    from portal.auth.accounts import set_active

    _signed_in(app, patient)
    _signed_in(app, patient, PHONE_UA)
    set_active(patient, False)
    db.session.commit()
    assert _rows(db, patient) == []


# --- an admin ends someone's sessions ---------------------------------------------------


def test_admin_ends_all_of_a_users_sessions_audited(app, admin_client, patient, db):
    devices = [_signed_in(app, patient), _signed_in(app, patient, PHONE_UA)]
    page = admin_client.get(f"/admin/accounts/{patient.id}").get_data(as_text=True)
    assert "End all sessions" in page
    token = csrf_token(admin_client, f"/admin/accounts/{patient.id}")
    response = admin_client.post(
        f"/admin/accounts/{patient.id}/end-sessions", data={"csrf_token": token}, follow_redirects=True
    )
    assert "2 sessions of Pat Patient have ended." in response.get_data(as_text=True)
    assert all(_is_login_page(client.get("/me/")) for client in devices)
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "sessions.end_all")).one()
    assert event.target_id == patient.id and event.detail_dict == {"count": 2}


# --- authenticator secrets encrypted at rest ----------------------------------------------


def _stored_secret(db, user) -> str:
    return db.session.execute(text("SELECT totp_secret FROM user_account WHERE id = :id"), {"id": user.id}).scalar()


def test_authenticator_secret_is_encrypted_at_rest(coach, db):
    stored = _stored_secret(db, coach)
    assert stored and TOTP_SECRET not in stored and stored != TOTP_SECRET
    assert Fernet(crypto.DEVELOPMENT_KEY).decrypt(stored.encode()).decode() == TOTP_SECRET
    db.session.expire_all()
    assert db.session.get(User, coach.id).totp_secret == TOTP_SECRET


def test_keys_rotate_re_encrypts_with_the_first_key(app, coach, db, monkeypatch):
    old_key = app.config["DATA_ENCRYPTION_KEY"]
    new_key = crypto.new_key()
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEY", f"{new_key},{old_key}")
    before = _stored_secret(db, coach)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 stored secret" in result.output
    db.session.expire_all()
    after = _stored_secret(db, coach)
    assert after != before
    assert Fernet(new_key).decrypt(after.encode()).decode() == TOTP_SECRET
    # The old key can now be dropped: the new key alone opens the secret and sign-in works.
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEY", new_key)
    client = app.test_client()
    assert login(client, coach).status_code == 302 and client.get("/account").status_code == 200


def test_keys_rotate_refuses_when_no_key_opens_a_secret(app, coach, db, monkeypatch):
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEY", crypto.new_key())
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code != 0 and "decrypts" in result.output
    monkeypatch.undo()
    db.session.expire_all()
    assert db.session.get(User, coach.id).totp_secret == TOTP_SECRET


def test_keys_new_prints_a_usable_key(app):
    result = app.test_cli_runner().invoke(args=["keys", "new"])
    Fernet(result.output.strip())


def test_production_refuses_to_start_without_a_data_encryption_key(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.invalid/holistiq")
    monkeypatch.setattr(ProductionConfig, "DATA_ENCRYPTION_KEY", "")
    with pytest.raises(RuntimeError, match="DATA_ENCRYPTION_KEY"):
        ProductionConfig.validate()
    monkeypatch.setattr(ProductionConfig, "DATA_ENCRYPTION_KEY", "not-a-key")
    with pytest.raises(RuntimeError, match="DATA_ENCRYPTION_KEY"):
        ProductionConfig.validate()
    monkeypatch.setattr(ProductionConfig, "DATA_ENCRYPTION_KEY", crypto.DEVELOPMENT_KEY)
    with pytest.raises(RuntimeError, match="development"):
        ProductionConfig.validate()
    monkeypatch.setattr(ProductionConfig, "DATA_ENCRYPTION_KEY", f"{crypto.new_key()},{crypto.new_key()}")
    ProductionConfig.validate()


def test_demo_staff_secret_is_stored_encrypted_and_demo_code_still_works(app, db):
    from portal.demo import DEMO_TOTP_SECRET, seed_accounts

    seed_accounts()
    stored = db.session.execute(text("SELECT totp_secret FROM user_account WHERE totp_secret IS NOT NULL")).scalars()
    assert all(DEMO_TOTP_SECRET not in value for value in stored)
    result = app.test_cli_runner().invoke(args=["demo-code"])
    assert re.fullmatch(r"\d{6}", result.output.strip())


def test_migration_encrypts_existing_plaintext_secrets(tmp_path):
    base = TestingConfig.SQLALCHEMY_DATABASE_URI
    url = (
        create_postgres_database(base, prefix="holistiq_keys")
        if is_postgres(base)
        else f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    )
    try:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade(revision="b7e1a2c3d4f5")
            with _db.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO user_account (email, name, role, is_active, failed_logins, session_token,"
                        " phone, language, created_at, totp_secret, totp_enabled, email_notifications)"
                        " VALUES ('old@example.org', 'Old', 'coach', true, 0, 'tok', '', 'en', CURRENT_TIMESTAMP,"
                        " :secret, true, true)"
                    ),
                    {"secret": TOTP_SECRET},
                )
            upgrade()
            with _db.engine.connect() as conn:
                stored = conn.execute(text("SELECT totp_secret FROM user_account")).scalar()
            assert stored != TOTP_SECRET and crypto.decrypt(stored) == TOTP_SECRET
            _db.session.remove()
            _db.engine.dispose()
    finally:
        if is_postgres(base):
            drop_postgres_database(url)


def test_describe_device():
    assert sessions.describe_device(PHONE_UA) == "Mobile Safari 17 · iOS 17"
    assert sessions.describe_device("") == ""
    assert sessions.describe_device("curl/8.0") == "curl 8"
    assert len(sessions.describe_device("Mozilla/5.0 " + "x" * 5000)) <= 120


def test_environment_key_is_not_needed_outside_production():
    assert os.environ.get("PORTAL_ENV", "development") != "production"
    assert TestingConfig.DATA_ENCRYPTION_KEY == crypto.DEVELOPMENT_KEY or crypto.parse_keys(
        TestingConfig.DATA_ENCRYPTION_KEY
    )
