"""Schemathesis against a live gunicorn process: every API operation, as a patient and as a coach.

Cases are generated from the OpenAPI document the app publishes; each response must
not be a server error, must match its documented schema, and invalid input must be
refused. A refused request must write nothing: the patient's and the coach's data
are counted before and after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, response_schema_conformance

from config import TestingConfig
from portal.api.blueprint import api_of
from portal.api.problems import PROBLEM_MEDIA_TYPE, declared_codes
from portal.app import create_app
from portal.auth.accounts import create_account
from portal.auth.models import Clinic, Role
from portal.extensions import db as _db
from tests.conftest import PASSWORD, TOTP_SECRET, give_test_consent
from tests.plan_factories import make_item, make_plan
from tests.servers import AppServer, prepare_database

PATIENT, COACH = "st.patient@example.org", "st.coach@example.org"
EXAMPLES = int(os.environ.get("API_CONTRACT_EXAMPLES", "8"))


def _spec() -> dict:
    app = create_app(TestingConfig)
    with app.app_context():
        return api_of(app).spec.to_dict()


SPEC = _spec()
schema = schemathesis.openapi.from_dict(SPEC)


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('api-contract') / 'portal.sqlite3'}"
    # A database of its own on the same PostgreSQL server.
    base, _sep, _name = url.rpartition("/")
    name = f"api_contract_{os.getpid()}"
    admin = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with admin.app_context():
        with _db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        _db.engine.dispose()
    return f"{base}/{name}"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[AppServer]:
    url = _database_url(tmp_path_factory)

    def setup():
        clinic = Clinic(name="Contract Clinic", city="Irving", phone="(972) 555-0102")
        _db.session.add(clinic)
        _db.session.flush()
        coach = create_account(email=COACH, name="Contract Coach", role=Role.COACH, password=PASSWORD)
        coach.totp_secret, coach.totp_enabled = TOTP_SECRET, True
        _db.session.flush()
        patient = create_account(
            email=PATIENT, name="Contract Patient", role=Role.PATIENT, clinic_id=clinic.id, coach_id=coach.id
        )
        patient.password_hash = coach.password_hash
        _db.session.flush()
        give_test_consent(patient)
        make_plan(patient, items=[make_item(title="Pelvic tilt"), make_item(title="Chin tuck")])

    prepare_database(url, setup)
    app_server = AppServer(url, LOGIN_RATE_LIMIT="10000 per minute", API_ACCESS_MINUTES="60")
    yield app_server
    app_server.stop()


def _headers(server: AppServer, email: str, code: bool) -> dict:
    import pyotp

    body = {"email": email, "password": PASSWORD}
    if code:
        body["code"] = pyotp.TOTP(TOTP_SECRET).now()
    response = requests.post(f"{server.url}/api/v1/auth/token", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def patient_headers(server) -> dict:
    return _headers(server, PATIENT, code=False)


@pytest.fixture(scope="module")
def coach_headers(server) -> dict:
    return _headers(server, COACH, code=True)


CHECKS = [not_a_server_error, response_schema_conformance, negative_data_rejection]
# The same cases on every run (derandomize=True): a random draw could make a "negative" case that
# the request then repairs (a missing Authorization header we add back, a query parameter with no
# value that requests drops) and fail a run at random; new cases come with new operations or schemas.
SKIP = {"POST /api/v1/auth/revoke"}  # would end the shared sign-in mid-run: tests/test_api.py covers it


def _run(case, server: AppServer, headers: dict) -> None:
    if f"{case.method} {case.path}" in SKIP:
        return
    response = case.call(base_url=server.url, headers=headers)
    case.validate_response(response, checks=CHECKS)
    _problem_is_declared(case, response)


def _problem_is_declared(case, response) -> None:
    """An error's `code` is one the document lists for this operation and status, with the type its page has."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]  # schemathesis keeps lists under lower-case names
    assert content_type == PROBLEM_MEDIA_TYPE, (case.method, case.path, response.status_code, content_type)
    body = response.json()
    if case.method.lower() not in SPEC["paths"][case.path]:  # a method the path lacks (a negative case)
        assert (response.status_code, body["code"]) == (405, "method_not_allowed")
        return
    declared = declared_codes(SPEC, case.method, case.path, response.status_code)
    assert body["code"] in declared, (case.method, case.path, response.status_code, body["code"], declared)
    assert body["type"].endswith(f"/api/v1/problems/{body['code']}")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_as_patient(case, server, patient_headers):
    _run(case, server, patient_headers)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_as_coach(case, server, coach_headers):
    _run(case, server, coach_headers)
