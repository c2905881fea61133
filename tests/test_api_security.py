"""The API's answers to an attacker: hostile JSON, caching, token lifetimes, audit of what a coach reads."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.audit import AuditEvent
from portal.auth.models import Role, SessionKind, UserSession
from portal.extensions import db as _db
from portal.jsonbody import MAX_DEPTH
from portal.timeutil import utcnow
from tests.plan_factories import make_item, make_plan
from tests.test_api import API, PROBLEM, assert_problem, bearer, sign_in

LONE_SURROGATE = b'{"notes": "\\ud800", "body": "\\udfff", "email": "\\ud800@x.org", "password": "\\ud800"}'


def _deep(levels: int) -> bytes:
    return b'{"a": ' * levels + b"1" + b"}" * levels


def _json_operations(spec: dict) -> list[tuple[str, str, bool]]:
    """(method, path with ids filled in, public) of every operation that takes a JSON body."""
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or "application/json" not in operation.get("requestBody", {}).get("content", {}):
                continue
            found.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path), operation.get("security") == []))
    return found


@pytest.fixture
def tokens_by_role(app, patient, coach):
    make_plan(patient, coach, [make_item(title="Cat-cow stretch")])
    return {Role.PATIENT: sign_in(app.test_client(), patient), Role.COACH: sign_in(app.test_client(), coach)}


@pytest.mark.parametrize("body", [LONE_SURROGATE, _deep(5000), _deep(MAX_DEPTH + 1)], ids=["surrogate", "5000", "33"])
def test_every_json_route_answers_hostile_json_with_a_400_problem(app, client, tokens_by_role, body):
    """Every operation with a JSON body, public or not and for either role, reads the body safely."""
    spec = client.get(f"{API}/openapi.json").json
    operations = _json_operations(spec)
    assert len(operations) >= 8
    for method, path, public in operations:
        headers_list = [{}] if public else [bearer(t) for t in tokens_by_role.values()]
        for headers in headers_list:
            response = client.open(path, method=method, data=body, content_type="application/json", headers=headers)
            if response.status_code in (403, 404):  # the other role's route: refused before the body is read
                continue
            problem = assert_problem(response, 400)
            assert response.mimetype == PROBLEM, (method, path)
            assert "Traceback" not in problem["detail"]


def test_json_just_inside_the_depth_limit_is_read(client):
    # Parsed (and then refused by the schema, which wants no such field): 422, not 400.
    response = client.post(f"{API}/auth/refresh", data=_deep(MAX_DEPTH - 1), content_type="application/json")
    assert response.status_code == 422


def test_every_api_response_says_no_store(client, patient, tokens_by_role):
    token = tokens_by_role[Role.PATIENT]
    for response in (
        client.get(f"{API}/me", headers=bearer(token)),
        client.get(f"{API}/me/today", headers=bearer(token)),
        client.get(f"{API}/me"),  # a 401 problem
        client.get(f"{API}/openapi.json"),
        client.post(f"{API}/auth/refresh", json={"refresh_token": "x"}),
    ):
        assert response.headers["Cache-Control"] == "no-store", response.request.path


def test_a_staff_access_token_dies_at_the_staff_idle_limit(app, client, coach, patient):
    app.config["STAFF_IDLE_MINUTES"] = 10
    try:
        staff = sign_in(client, coach)
        assert staff["expires_in"] == 10 * 60
        patient_tokens = sign_in(client, patient)
        assert patient_tokens["expires_in"] == app.config["API_ACCESS_MINUTES"] * 60
        row = _db.session.scalar(
            _db.select(UserSession).where(UserSession.kind == SessionKind.API_ACCESS, UserSession.user_id == coach.id)
        )
        assert row.expires_at - row.created_at == timedelta(minutes=10)
        # Ten idle minutes later the token no longer opens anything.
        row.expires_at = utcnow() - timedelta(seconds=1)
        _db.session.commit()
        assert_problem(client.get(f"{API}/coach/patients", headers=bearer(staff)), 401)
        refreshed = client.post(f"{API}/auth/refresh", json={"refresh_token": staff["refresh_token"]})
        assert refreshed.status_code == 201 and refreshed.json["expires_in"] == 10 * 60
    finally:
        app.config["STAFF_IDLE_MINUTES"] = 30


def test_coach_api_reads_of_patient_data_are_audited_like_the_pages(client, coach, patient, tokens_by_role):
    token = bearer(tokens_by_role[Role.COACH])
    for path in ("checkins", "progress?days=7", "messages"):
        assert client.get(f"{API}/coach/patients/{patient.id}/{path}", headers=token).status_code == 200
    assert client.get(f"{API}/coach/patients/{patient.id}", headers=token).status_code == 200
    events = _db.session.scalars(
        _db.select(AuditEvent).where(AuditEvent.actor_id == coach.id, AuditEvent.patient_id == patient.id)
    ).all()
    sections = sorted((e.action, e.detail_dict.get("section", "")) for e in events)
    assert sections == [
        ("messages.view", ""),
        ("patient.view", ""),
        ("patient.view", "chart data"),
        ("patient.view", "check-in history"),
    ]
    assert all(e.target_type == "User" for e in events)


def test_self_exports_are_audited_with_the_user_as_target(patient_client, patient):
    for path in ("/me/export.json", "/me/export-csv.zip", "/me/export.fhir.json"):
        assert patient_client.get(path).status_code == 200
    events = _db.session.scalars(_db.select(AuditEvent).where(AuditEvent.action == "data.export")).all()
    assert len(events) == 3
    assert {(e.target_type, e.target_id, e.patient_id) for e in events} == {("User", patient.id, patient.id)}


def test_a_body_that_is_not_utf8_is_a_400_even_where_every_field_is_optional(client, patient, tokens_by_role):
    me = bearer(tokens_by_role[Role.PATIENT])
    client.put(f"{API}/me/checkins/today", json={"pain": 3, "stiffness": 2}, headers=me)
    for body in (b"\xff\xfe.", b""):
        response = client.patch(f"{API}/me/checkins/today", data=body, content_type="application/json", headers=me)
        assert_problem(response, 400)
