"""Refresh tokens rotate: each works once, and a used one coming back ends its whole sign-in."""

from __future__ import annotations

from datetime import timedelta

from portal.audit import AuditEvent
from portal.auth import sessions
from portal.auth.models import SessionKind, UserSession
from portal.extensions import db as _db
from portal.timeutil import utcnow
from tests.conftest import csrf_token
from tests.test_api import API, assert_problem, bearer, sign_in


def refresh(client, tokens: dict):
    return client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})


def rotated(client, tokens: dict) -> dict:
    response = refresh(client, tokens)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def refresh_session(patient) -> UserSession:
    _db.session.expire_all()
    [row] = [r for r in sessions.active_for(patient) if r.kind == SessionKind.API_REFRESH]
    return _db.session.get(UserSession, row.id)


def live_rows() -> int:
    return _db.session.scalar(_db.select(_db.func.count(UserSession.id)))


def test_a_refresh_gives_a_new_access_and_refresh_token_and_uses_up_the_old_one(client, patient):
    first = sign_in(client, patient)
    listed = refresh_session(patient)
    second = rotated(client, first)
    assert set(second) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert client.get(f"{API}/me", headers=bearer(second)).json["email"] == patient.email
    # Still one sign-in under "Your sessions": rotation swaps its secret, it does not start another.
    assert refresh_session(patient).id == listed.id
    hashes = set(_db.session.scalars(_db.select(UserSession.secret_hash)))
    assert second["refresh_token"] not in hashes and first["refresh_token"] not in hashes
    # The new refresh token works once, in its turn.
    third = rotated(client, second)
    assert client.get(f"{API}/me", headers=bearer(third)).status_code == 200


def test_a_used_refresh_token_is_refused_and_ends_the_whole_sign_in(client, patient):
    stolen = sign_in(client, patient)
    newer = rotated(client, stolen)
    newest = rotated(client, newer)

    # The first token comes back (a copy kept by a thief, or by a confused app): refused...
    body = assert_problem(refresh(client, stolen), 401)
    assert "already used" in body["detail"] and "sign in again" in body["detail"]
    assert "invalid_token" in refresh(client, stolen).headers["WWW-Authenticate"]
    # ...and everything the sign-in handed out since stops working too.
    ended = assert_problem(refresh(client, newest), 401)
    assert "has ended" in ended["detail"]
    for tokens in (stolen, newer, newest):
        assert_problem(client.get(f"{API}/me", headers=bearer(tokens)), 401)
    assert sessions.active_for(patient) == []
    assert live_rows() == 0
    event = _db.session.scalar(_db.select(AuditEvent).where(AuditEvent.action == "api.refresh_reused"))
    assert event is not None and event.actor_id == patient.id and event.patient_id == patient.id


def test_reuse_of_the_latest_used_token_ends_the_sign_in_too(client, patient):
    first = sign_in(client, patient)
    second = rotated(client, first)
    assert_problem(refresh(client, first), 401)
    assert_problem(refresh(client, second), 401)
    assert_problem(client.get(f"{API}/me", headers=bearer(second)), 401)


def test_reuse_ends_only_that_sign_in(client, patient, login_as):
    phone = sign_in(client, patient)
    tablet = sign_in(client, patient)
    browser = login_as(patient)
    rotated(client, phone)
    assert_problem(refresh(client, phone), 401)
    assert client.get(f"{API}/me", headers=bearer(tablet)).status_code == 200
    assert rotated(client, tablet)["access_token"]
    assert browser.get("/account").status_code == 200


def test_only_one_request_can_exchange_a_refresh_token(app, client, patient):
    tokens = sign_in(client, patient)
    row = sessions.resume(tokens["refresh_token"], kind=SessionKind.API_REFRESH).session
    # Two servers holding the same row: the conditional swap lets exactly one of them through.
    assert sessions.replace_secret(row, tokens["refresh_token"]) is not None
    assert sessions.replace_secret(row, tokens["refresh_token"]) is None
    _db.session.rollback()


def test_the_loser_of_a_refresh_race_ends_the_sign_in(client, patient, monkeypatch):
    tokens = sign_in(client, patient)
    real_replace = sessions.replace_secret

    def another_server_got_there_first(row, old_secret):
        # What a second server's request with the same token committed a moment ago.
        _db.session.execute(
            _db.update(UserSession).where(UserSession.id == row.id).values(secret_hash=sessions.hash_secret("won"))
        )
        return real_replace(row, old_secret)

    monkeypatch.setattr(sessions, "replace_secret", another_server_got_there_first)
    body = assert_problem(refresh(client, tokens), 401)
    assert "already used" in body["detail"]
    monkeypatch.undo()
    assert_problem(client.get(f"{API}/me", headers=bearer(tokens)), 401)
    assert live_rows() == 0


def test_a_refused_or_unknown_refresh_token_writes_nothing(client, patient):
    sign_in(client, patient)
    before = live_rows()
    for forged in ("forged", "x" * 128):
        body = assert_problem(client.post(f"{API}/auth/refresh", json={"refresh_token": forged}), 401)
        assert "has ended" in body["detail"]
    assert_problem(client.post(f"{API}/auth/refresh", json={"refresh_token": "x" * 129}), 422)
    assert_problem(client.post(f"{API}/auth/refresh", json={}), 422)
    assert live_rows() == before
    assert _db.session.scalar(_db.select(AuditEvent).where(AuditEvent.action == "api.refresh_reused")) is None


def test_rotation_keeps_the_sign_in_limits(app, client, patient):
    tokens = sign_in(client, patient)
    row = refresh_session(patient)
    signed_in_until = row.expires_at
    tokens = rotated(client, tokens)
    # Rotating does not stretch the sign-in past its absolute limit; access tokens live inside it.
    assert refresh_session(patient).expires_at == signed_in_until
    access = _db.session.scalars(_db.select(UserSession).where(UserSession.kind == SessionKind.API_ACCESS)).all()
    assert access and all(a.expires_at <= signed_in_until for a in access)

    row = refresh_session(patient)
    row.expires_at = utcnow() - timedelta(seconds=1)
    _db.session.commit()
    body = assert_problem(refresh(client, tokens), 401)
    assert "has ended" in body["detail"]
    assert_problem(client.get(f"{API}/me", headers=bearer(tokens)), 401)
    assert live_rows() == 0


def test_an_idle_sign_in_ends_and_its_used_tokens_only_say_so(client, patient):
    first = sign_in(client, patient)
    second = rotated(client, first)
    row = refresh_session(patient)
    row.last_active_at = utcnow() - timedelta(minutes=patient_idle_minutes(client) + 1)
    _db.session.commit()
    assert "has ended" in assert_problem(refresh(client, second), 401)["detail"]
    # The sign-in is over already: the used token is told so, nothing more to end.
    assert "has ended" in assert_problem(refresh(client, first), 401)["detail"]
    assert live_rows() == 0


def patient_idle_minutes(client) -> int:
    return int(client.application.config["PATIENT_IDLE_MINUTES"])


def test_a_rotated_sign_in_is_listed_once_and_ends_from_the_account_page(client, patient, login_as):
    tokens = sign_in(client, patient)
    for _ in range(3):
        tokens = rotated(client, tokens)
    browser = login_as(patient)
    page = browser.get("/account").get_data(as_text=True)
    assert page.count("Phone app") == 1
    row_id = refresh_session(patient).id  # the row goes: keep its id
    ended = browser.post(f"/account/sessions/{row_id}/end", data={"csrf_token": csrf_token(browser, "/account")})
    assert ended.status_code == 302
    assert_problem(refresh(client, tokens), 401)
    assert_problem(client.get(f"{API}/me", headers=bearer(tokens)), 401)
    assert "Phone app" not in browser.get("/account").get_data(as_text=True)
    assert _db.session.scalar(_db.select(_db.func.count(UserSession.id)).where(UserSession.parent_id == row_id)) == 0


def test_sign_out_ends_the_rotated_sign_in(client, patient):
    first = sign_in(client, patient)
    latest = rotated(client, rotated(client, first))
    assert client.post(f"{API}/auth/revoke", headers=bearer(latest)).status_code == 204
    assert_problem(refresh(client, latest), 401)
    # Used tokens went with the sign-in: one coming back now is simply refused.
    assert "has ended" in assert_problem(refresh(client, first), 401)["detail"]
    assert live_rows() == 0


def test_password_change_ends_the_rotated_sign_in(client, patient):
    from portal.auth.services import set_password

    latest = rotated(client, sign_in(client, patient))
    set_password(patient, "a brand new passphrase 42")
    _db.session.commit()
    assert_problem(refresh(client, latest), 401)
    assert_problem(client.get(f"{API}/me", headers=bearer(latest)), 401)


def test_the_contract_says_refresh_tokens_rotate(client):
    spec = client.get(f"{API}/openapi.json").json
    token = spec["components"]["schemas"]["Token"]
    assert "refresh_token" in token["required"]
    assert "used up" in token["properties"]["refresh_token"]["description"]
    operation = spec["paths"]["/api/v1/auth/refresh"]["post"]
    assert "used up" in operation["summary"] and "already used" not in operation["summary"]
    assert "ends the whole sign-in" in operation["description"]
    refused = operation["responses"]["401"]["content"]["application/problem+json"]["schema"]
    assert refused["$ref"].endswith("/Problem")
