"""The JSON API: its contract, bearer tokens as sessions, a patient's and a coach's day, bad input."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import current_app
from openapi_spec_validator import validate

from portal.api.blueprint import api_of
from portal.api.problems import declared_codes
from portal.auth import sessions
from portal.auth.models import Role, SessionKind, User, UserSession
from portal.care.models import Alert, CheckIn, ItemLog
from portal.extensions import db as _db
from portal.messaging.models import Message
from portal.timeutil import local_today, utcnow
from tests.conftest import PASSWORD, csrf_token, totp_code
from tests.plan_factories import make_item, make_plan

API = "/api/v1"
PROBLEM = "application/problem+json"


def sign_in(client, user: User, *, code: bool = True) -> dict:
    body = {"email": user.email, "password": PASSWORD}
    if user.role != Role.PATIENT and code:
        body["code"] = totp_code(user)
    response = client.post(f"{API}/auth/token", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _operation_path(spec: dict, method: str, path: str) -> str | None:
    """The OpenAPI path template an actual request path belongs to (None for a path the API lacks)."""
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template
    return None


def assert_problem(response, status: int) -> dict:
    """A problem document of this status, whose code the OpenAPI document lists for the operation and status."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status and body["title"] and body["type"] and body["code"]
    spec = api_of(current_app).spec.to_dict()
    template = _operation_path(spec, response.request.method, response.request.path)
    if template is not None:
        declared = declared_codes(spec, response.request.method, template, status)
        assert body["code"] in declared, (response.request.method, template, status, body["code"], declared)
    return body


@pytest.fixture
def plan(patient, coach):
    return make_plan(patient, coach, [make_item(title="Cat-cow stretch"), make_item(title="Pelvic tilt")])


# --- the contract ----------------------------------------------------------------


def test_openapi_document_validates_and_lists_every_api_route(app, client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"] == "3.1.0"
    validate(spec)
    documented = {
        (path, method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
        if method != "parameters"
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.replace("<int:", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method))
    assert routes and routes == documented
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_reference_page_lists_every_operation_under_the_strict_csp(client):
    spec = client.get(f"{API}/openapi.json").json
    page = client.get(f"{API}/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert html.count("<h1") == 1 and "unsafe-inline" not in page.headers["Content-Security-Policy"]
    for path, item in spec["paths"].items():
        for method in item:
            if method != "parameters":
                assert f"{method.upper()} {path}" in html
    assert "0–10" in html  # the check-in's ranges are shown


# --- tokens are sessions --------------------------------------------------------------


def test_patient_token_is_a_session_listed_and_ended_by_sign_out(client, patient):
    tokens = sign_in(client, patient)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 15 * 60
    assert client.get(f"{API}/me", headers=bearer(tokens)).json["email"] == patient.email
    listed = sessions.active_for(patient)
    assert [row.kind for row in listed] == [SessionKind.API_REFRESH]
    # Nothing stored in the clear.
    hashes = set(_db.session.scalars(_db.select(UserSession.secret_hash)))
    assert tokens["access_token"] not in hashes and tokens["refresh_token"] not in hashes
    refreshed = client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 201 and refreshed.json["refresh_token"] != tokens["refresh_token"]
    assert client.post(f"{API}/auth/revoke", headers=bearer(tokens)).status_code == 204
    assert_problem(client.get(f"{API}/me", headers=bearer(tokens)), 401)
    assert_problem(client.get(f"{API}/me", headers=bearer(refreshed.json)), 401)
    assert_problem(client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401)
    assert _db.session.scalar(_db.select(_db.func.count(UserSession.id))) == 0


def test_ending_the_session_from_the_account_page_ends_its_tokens(login_as, client, patient):
    tokens = sign_in(client, patient)
    browser = login_as(patient)
    page = browser.get("/account").get_data(as_text=True)
    assert "Phone app" in page
    row = next(r for r in sessions.active_for(patient) if r.kind == SessionKind.API_REFRESH)
    token = csrf_token(browser, "/account")
    ended = browser.post(f"/account/sessions/{row.id}/end", data={"csrf_token": token})
    assert ended.status_code == 302
    assert_problem(client.get(f"{API}/me", headers=bearer(tokens)), 401)
    assert "Phone app" not in browser.get("/account").get_data(as_text=True)


def test_password_change_and_deactivation_end_tokens(client, patient, make_user):
    from portal.auth.services import set_password

    tokens = sign_in(client, patient)
    set_password(patient, "a brand new passphrase 42")
    _db.session.commit()
    assert_problem(client.get(f"{API}/me", headers=bearer(tokens)), 401)
    other = make_user(Role.PATIENT)
    tokens = sign_in(client, other)
    other.is_active = False
    _db.session.commit()
    assert_problem(client.get(f"{API}/me", headers=bearer(tokens)), 401)


def test_expired_access_token_and_idle_refresh_token(client, patient):
    tokens = sign_in(client, patient)
    access = _db.session.scalar(_db.select(UserSession).where(UserSession.kind == SessionKind.API_ACCESS))
    access.expires_at = utcnow() - timedelta(seconds=1)
    refresh = _db.session.scalar(_db.select(UserSession).where(UserSession.kind == SessionKind.API_REFRESH))
    refresh.last_active_at = utcnow() - timedelta(hours=3)
    _db.session.commit()
    body = assert_problem(client.get(f"{API}/me/today", headers=bearer(tokens)), 401)
    assert "expired" in body["detail"]
    assert_problem(client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401)


def test_staff_need_their_two_step_code_and_failures_lock_the_account(app, client, coach):
    body = assert_problem(client.post(f"{API}/auth/token", json={"email": coach.email, "password": PASSWORD}), 401)
    assert "code" in body["detail"]
    assert sign_in(client, coach)["access_token"]
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert_problem(client.post(f"{API}/auth/token", json={"email": coach.email, "password": "wrong"}), 401)
    _db.session.refresh(coach)
    assert coach.is_locked
    assert_problem(client.post(f"{API}/auth/token", json={"email": coach.email, "password": PASSWORD}), 401)


def test_staff_without_two_step_set_up_are_refused(client, make_user):
    coach = make_user(Role.COACH, totp_enabled=False, totp_secret=None)
    assert_problem(client.post(f"{API}/auth/token", json={"email": coach.email, "password": PASSWORD}), 403)
    assert _db.session.scalar(_db.select(_db.func.count(UserSession.id))) == 0


def test_the_cookie_opens_no_api_route_and_a_bearer_token_opens_no_page(app, patient_client, patient):
    assert_problem(patient_client.get(f"{API}/me"), 401)
    tokens = sign_in(app.test_client(), patient)
    page = app.test_client().get("/me/", headers=bearer(tokens))
    assert page.status_code == 302 and "/login" in page.headers["Location"]


# --- a day through the API ----------------------------------------------------------


def test_patient_day_and_coach_response_through_the_api_match_the_pages(app, patient, coach, plan, login_as):
    phone = app.test_client()
    me = bearer(sign_in(phone, patient))
    today = phone.get(f"{API}/me/today", headers=me).json
    assert today["day"] == local_today(patient.tz).isoformat() and today["total"] == 2
    first = today["items"][0]
    # The count is absolute: the item is done once every session of the day is, and a retry changes nothing.
    assert first["sessions_due"] == first["times_per_day"] and first["sessions_done"] == 0 and first["paused"] is None
    for session in range(1, first["sessions_due"] + 1):
        for _attempt in range(2):
            marked = phone.put(f"{API}/me/today/items/{first['id']}", json={"sessions_done": session}, headers=me)
            assert marked.status_code == 200 and marked.json["sessions_done"] == session
            assert marked.json["done"] is (session == first["sessions_due"])
    after = phone.get(f"{API}/me/today", headers=me).json
    assert after["done_count"] == 1 and after["sessions_done"] == first["times_per_day"]
    assert after["sessions_total"] == sum(item["times_per_day"] for item in after["items"])

    saved = phone.put(
        f"{API}/me/checkins/today",
        json={"pain": 6, "stiffness": 5, "spasm_episodes": 2, "rf_walking": True, "notes": "Legs feel weak"},
        headers=me,
    )
    assert saved.status_code == 200, saved.json
    assert saved.json["created"] is True and saved.json["checkin"]["red_flags"] == ["rf_walking"]
    advice = saved.json["safety_advice"]
    assert advice["tier"] == "today" and advice["title"] == "Call your clinic today"
    alert = _db.session.scalar(_db.select(Alert).where(Alert.patient_id == patient.id))
    assert alert.kind == "red_flag" and alert.resolved_at is None

    progress = phone.get(f"{API}/me/progress?days=7", headers=me).json
    assert progress["series"][-1]["pain"] == 6
    history = phone.get(f"{API}/me/checkins", headers=me).json
    assert [c["pain"] for c in history["items"]] == [6] and history["next_cursor"] is None
    assert phone.post(f"{API}/me/messages", json={"body": "Should I stop?"}, headers=me).status_code == 201

    # The coach, through the API: the roster says why, the alert is resolved.
    coach_phone = app.test_client()
    staff = bearer(sign_in(coach_phone, coach))
    roster = coach_phone.get(f"{API}/coach/patients", headers=staff).json["items"]
    row = next(r for r in roster if r["id"] == patient.id)
    assert row["urgent"] and row["unread_messages"] == 1 and any("Red flag" in r for r in row["reasons"])
    alerts = coach_phone.get(f"{API}/coach/alerts", headers=staff).json["items"]
    assert [a["id"] for a in alerts] == [alert.id]
    resolved = coach_phone.post(
        f"{API}/coach/alerts/{alert.id}/resolve", json={"note": "Called; seen at Plano today."}, headers=staff
    )
    assert resolved.status_code == 200 and resolved.json["resolved_at"]
    assert_problem(
        coach_phone.post(f"{API}/coach/alerts/{alert.id}/resolve", json={"note": "again"}, headers=staff), 409
    )
    reply = coach_phone.post(f"{API}/coach/patients/{patient.id}/messages", json={"body": "Rest today."}, headers=staff)
    assert reply.status_code == 201

    # The HTML pages show the same state.
    patient_page = login_as(patient).get("/me/").get_data(as_text=True)
    assert f"{after['sessions_done']} of {after['sessions_total']} sessions done today" in patient_page
    coach_browser = login_as(coach)
    alerts_page = coach_browser.get("/coach/alerts").get_data(as_text=True)
    assert "Called; seen at Plano today." not in alerts_page  # no longer open
    resolved_page = coach_browser.get("/coach/alerts?show=resolved").get_data(as_text=True)
    assert "Called; seen at Plano today." in resolved_page
    thread = coach_browser.get(f"/messages/patients/{patient.id}").get_data(as_text=True)
    assert "Should I stop?" in thread and "Rest today." in thread
    log = _db.session.scalar(_db.select(ItemLog).where(ItemLog.plan_item_id == first["id"]))
    assert log.done


# --- bad input ------------------------------------------------------------------------


def test_bad_input_gets_a_problem_and_writes_nothing(app, client, patient, plan):
    me = bearer(sign_in(client, patient))
    url = f"{API}/me/checkins/today"
    malformed = client.put(url, data="{not json", headers={**me, "Content-Type": "application/json"})
    assert malformed.status_code in (400, 422) and malformed.mimetype == PROBLEM
    wrong_type = assert_problem(client.put(url, json={"pain": "six", "stiffness": 2}, headers=me), 422)
    assert {e["field"] for e in wrong_type["errors"]} == {"pain"}
    unknown = assert_problem(client.put(url, json={"pain": 1, "stiffness": 2, "mood": 3}, headers=me), 422)
    assert [e["field"] for e in unknown["errors"]] == ["mood"]
    missing = assert_problem(client.put(url, json={"pain": 1}, headers=me), 422)
    assert [e["field"] for e in missing["errors"]] == ["stiffness"]
    out_of_range = assert_problem(client.put(url, json={"pain": 11, "stiffness": -1}, headers=me), 422)
    assert {e["field"] for e in out_of_range["errors"]} == {"pain", "stiffness"}
    truthy = assert_problem(client.put(url, json={"pain": 1, "stiffness": 1, "rf_walking": "yes"}, headers=me), 422)
    assert truthy["errors"][0]["field"] == "rf_walking"
    not_today = assert_problem(
        client.put(url, json={"pain": 1, "stiffness": 1, "items_done": [999999]}, headers=me), 422
    )
    assert not_today["errors"][0]["field"] == "items_done"
    huge = client.put(url, data="[" + "1," * 700_000 + "1]", headers={**me, "Content-Type": "application/json"})
    assert_problem(huge, 413)
    control = assert_problem(client.post(f"{API}/me/messages", json={"body": "hi\x00"}, headers=me), 422)
    assert control["errors"][0]["field"] == "body"
    assert_problem(client.put(f"{API}/me/today/items/999999", json={"done": True}, headers=me), 404)
    assert_problem(client.get(f"{API}/me/checkins?cursor=%%%forged", headers=me), 400)
    assert_problem(client.get(f"{API}/me/checkins?limit=1000", headers=me), 422)
    unknown_query = assert_problem(client.get(f"{API}/me/checkins?sort=day", headers=me), 422)
    assert unknown_query["errors"][0] == {"field": "sort", "location": "query", "message": "Unknown field."}
    assert_problem(client.get(f"{API}/me", headers={"Authorization": "Bearer forged"}), 401)
    assert_problem(client.get(f"{API}/me"), 401)
    assert_problem(client.get(f"{API}/no/such/route", headers=me), 404)
    assert _db.session.scalar(_db.select(_db.func.count(CheckIn.id))) == 0
    assert _db.session.scalar(_db.select(_db.func.count(Message.id))) == 0


# --- object-level access -----------------------------------------------------------------


def test_the_coachs_alerts_come_a_page_at_a_time_most_urgent_first(app, make_user, coach):
    opened = utcnow() - timedelta(hours=3)
    alerts = []
    for n, (kind, severity) in enumerate((("missed_checkins", 3), ("red_flag", 1), ("pain_worsening", 3))):
        someone = make_user(Role.PATIENT, coach=coach)
        alert = Alert(
            patient_id=someone.id, kind=kind, severity=severity, summary=f"s{n}", opened_at=opened + timedelta(hours=n)
        )
        _db.session.add(alert)
        alerts.append((alert, someone.name))
    _db.session.commit()
    staff = bearer(sign_in(client := app.test_client(), coach))
    first = client.get(f"{API}/coach/alerts?limit=2", headers=staff).json
    rest = client.get(f"{API}/coach/alerts?limit=2&cursor={first['next_cursor']}", headers=staff).json
    assert rest["next_cursor"] is None
    seen = [(a["id"], a["patient_name"], a["acknowledged_by"]) for a in first["items"] + rest["items"]]
    assert seen == [(alert.id, name, None) for alert, name in (alerts[1], alerts[0], alerts[2])]


def test_other_patients_and_other_coaches_objects_are_404(app, make_user, patient, coach, plan):
    other_coach = make_user(Role.COACH)
    other_patient = make_user(Role.PATIENT, coach=other_coach)
    make_plan(other_patient, other_coach, [make_item(title="Bridge")])
    yesterday = local_today(patient.tz) - timedelta(days=1)
    checkin = CheckIn(patient_id=patient.id, day=yesterday, pain=4, stiffness=3)
    _db.session.add(checkin)
    _db.session.flush()
    alert = Alert(patient_id=patient.id, kind="pain_worsening", summary="Pain rising", checkin_id=checkin.id)
    _db.session.add(alert)
    _db.session.commit()

    intruder = bearer(sign_in(client := app.test_client(), other_patient))
    item_id = plan.items[0].id
    assert_problem(client.put(f"{API}/me/today/items/{item_id}", json={"done": True}, headers=intruder), 404)
    assert_problem(client.get(f"{API}/me/plan/items/{item_id}", headers=intruder), 404)
    assert_problem(client.get(f"{API}/coach/patients", headers=intruder), 403)

    other = bearer(sign_in(client, other_coach))
    for path in ("", "/checkins", "/progress", "/messages"):
        assert_problem(client.get(f"{API}/coach/patients/{patient.id}{path}", headers=other), 404)
    assert_problem(client.post(f"{API}/coach/patients/{patient.id}/messages", json={"body": "x"}, headers=other), 404)
    assert_problem(client.post(f"{API}/coach/alerts/{alert.id}/resolve", json={"note": "x"}, headers=other), 404)
    assert client.get(f"{API}/coach/alerts", headers=other).json["items"] == []
    assert_problem(client.get(f"{API}/me/today", headers=other), 403)

    mine = bearer(sign_in(client, coach))
    assert client.get(f"{API}/coach/patients/{patient.id}", headers=mine).json["plan"]["id"] == plan.id
    assert client.get(f"{API}/coach/patients/{patient.id}/checkins", headers=mine).json["items"][0]["pain"] == 4
    _db.session.refresh(alert)
    assert alert.resolved_at is None
    assert _db.session.scalar(_db.select(_db.func.count(Message.id))) == 0
