"""Errors a program can read: stable problem types and codes, English titles, localized details, documented."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from portal.api.problems import PROBLEM_MEDIA_TYPE, PROBLEMS, declared_codes
from portal.auth.models import Role
from portal.care.pauses import pause_item
from portal.errors import STATUS_PROBLEMS
from portal.extensions import db as _db
from tests.conftest import PASSWORD, totp_code
from tests.plan_factories import make_item, make_plan
from tests.test_api import API, assert_problem, bearer, sign_in

BASE = "http://127.0.0.1:5000"


def problem_of(response, status: int, code: str) -> dict:
    assert_problem(response, status)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    body = response.json
    assert body["code"] == code
    assert body["type"].endswith(f"/api/v1/problems/{code}")
    assert body["title"] == HTTPStatus(status).phrase
    assert body["status"] == status and body["detail"]
    return body


def test_every_status_code_has_a_catalogued_problem_and_every_code_a_page(client):
    assert set(STATUS_PROBLEMS.values()) <= set(PROBLEMS)
    index = client.get(f"{API}/problems")
    assert index.status_code == 200 and index.mimetype == "text/html"
    html = index.get_data(as_text=True)
    for code, entry in PROBLEMS.items():
        assert f'href="/api/v1/problems/{code}"' in html
        page = client.get(f"{API}/problems/{code}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert f"<h1><code>{code}</code></h1>" in text and str(entry.status) in text
    assert client.get(f"{API}/problems/no_such_code").status_code == 404
    assert "Authorization: Bearer &lt;token&gt;." in html  # explanations are text, escaped


def test_sign_in_problems_tell_apart_needs_a_code_wrong_code_and_reuse(app, client, coach, patient):
    problem_of(
        client.post(f"{API}/auth/token", json={"email": patient.email, "password": "nope"}), 401, "invalid_credentials"
    )
    problem_of(
        client.post(f"{API}/auth/token", json={"email": coach.email, "password": PASSWORD}),
        401,
        "two_step_code_required",
    )
    wrong = "000000" if totp_code(coach) != "000000" else "111111"
    problem_of(
        client.post(f"{API}/auth/token", json={"email": coach.email, "password": PASSWORD, "code": wrong}),
        401,
        "two_step_code_wrong",
    )
    tokens = sign_in(client, patient)
    assert client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 201
    problem_of(
        client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401, "refresh_token_reused"
    )
    problem_of(client.post(f"{API}/auth/refresh", json={"refresh_token": "unknown"}), 401, "session_ended")
    problem_of(client.get(f"{API}/me"), 401, "sign_in_required")
    problem_of(client.get(f"{API}/me", headers={"Authorization": "Bearer nope"}), 401, "access_token_invalid")


def test_a_type_is_built_on_the_public_base_url(client, patient):
    body = problem_of(client.get(f"{API}/me"), 401, "sign_in_required")
    assert body["type"] == f"{BASE}/api/v1/problems/sign_in_required"


def test_detail_is_localized_but_code_and_title_are_not(client, make_user):
    spanish = make_user(Role.PATIENT, language="es")
    tokens = sign_in(client, spanish)
    body = problem_of(
        client.put(f"{API}/me/today/items/999999", json={"done": True}, headers=bearer(tokens)), 404, "not_found"
    )
    assert body["title"] == "Not Found" and body["detail"].startswith("No encontramos")
    refused = client.put(f"{API}/me/checkins/today", json={"pain": 11, "stiffness": 1}, headers=bearer(tokens))
    body = problem_of(refused, 422, "validation_failed")
    assert body["detail"] == "Algunos campos no están correctos."


def test_a_no_content_answer_has_no_content_type(client, patient):
    tokens = sign_in(client, patient)
    response = client.post(f"{API}/auth/revoke", headers=bearer(tokens))
    assert response.status_code == 204 and response.get_data() == b""
    assert "Content-Type" not in response.headers


def test_every_operation_has_a_readable_operation_id_and_problem_json_errors(client):
    spec = client.get(f"{API}/openapi.json").json
    ids = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            ids.append(operation["operationId"])
            assert operation["operationId"][0].islower() and "_" not in operation["operationId"]
            errors = {status: r for status, r in operation["responses"].items() if status[0] in "45"}
            assert "500" in errors and "default" not in operation["responses"]
            for status, response in errors.items():
                assert list(response["content"]) == [PROBLEM_MEDIA_TYPE], (method, path, status)
                for code, example in response["content"][PROBLEM_MEDIA_TYPE]["examples"].items():
                    assert PROBLEMS[code].status == int(status) and example["value"]["code"] == code
            for status, response in operation["responses"].items():
                if status == "204":
                    assert "content" not in response
    assert len(ids) == len(set(ids))
    assert {"getToday", "markItem", "signIn", "refreshToken", "resolveAlert", "listPatients"} <= set(ids)


@pytest.fixture
def paused_plan(patient, coach):
    return make_plan(patient, coach, [make_item(title="Cat-cow stretch")])


def test_paused_and_not_due_items_answer_their_own_codes(client, patient, paused_plan):
    item = paused_plan.items[0]
    pause_item(paused_plan, item, "Rest this one", patient.coach)
    _db.session.commit()
    tokens = sign_in(client, patient)
    problem_of(
        client.put(f"{API}/me/today/items/{item.id}", json={"done": True}, headers=bearer(tokens)), 409, "item_paused"
    )
    spec = client.get(f"{API}/openapi.json").json
    assert {"item_paused", "item_not_due"} <= declared_codes(spec, "PUT", "/api/v1/me/today/items/{plan_item_id}", 409)
