"""Faults: the database going away and coming back, a save cut off half-way, Redis down.

These tests stop and start a PostgreSQL cluster of their own (tests/servers.py),
never the machine's database, and run the app under gunicorn where the rate
limiter's storage matters.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import suppress

import pytest
import redis
import requests
from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from config import TestingConfig
from portal.app import create_app
from portal.auth.accounts import create_account
from portal.auth.models import Role, User
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.extensions import db as _db
from tests.conftest import PASSWORD, RequestClient, csrf_token, give_test_consent, login
from tests.servers import AppServer, once_per_run, post_login, prepare_database, throwaway_postgres  # noqa: F401

PATIENT_EMAIL = "fault.patient@example.org"
pytestmark = once_per_run


@pytest.fixture(scope="module")
def fault_app(throwaway_postgres) -> Iterator[Flask]:  # noqa: F811
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=throwaway_postgres.url, SERVER_NAME="localhost")
    app.test_client_class = RequestClient
    with app.app_context():
        _db.create_all()
        coach = create_account(email="fault.coach@example.org", name="Fault Coach", role=Role.COACH, password=PASSWORD)
        _db.session.flush()
        from portal.auth.models import Clinic

        clinic = Clinic(name="Fault Clinic", city="Arlington", phone="(817) 555-0100")
        _db.session.add(clinic)
        _db.session.flush()
        patient = create_account(
            email=PATIENT_EMAIL,
            name="Fault Patient",
            role=Role.PATIENT,
            clinic_id=clinic.id,
            coach_id=coach.id,
            password=PASSWORD,
        )
        give_test_consent(patient)
        _db.session.commit()
        _db.session.remove()
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def fault_ctx(fault_app, throwaway_postgres) -> Iterator[tuple[Flask, User]]:  # noqa: F811
    if not _is_up(fault_app):  # an earlier test left it stopped
        throwaway_postgres.start()
    with fault_app.app_context():
        patient = _db.session.scalar(_db.select(User).where(User.email == PATIENT_EMAIL))
        yield fault_app, patient
        # The test's own session may hold a connection the database dropped while it was down.
        with suppress(OperationalError):
            _db.session.rollback()
        _db.session.remove()


def _is_up(app: Flask) -> bool:
    with app.app_context():
        from portal.health import database_ok

        ok = database_ok()
        _db.session.remove()
        return ok


def test_database_down_answers_503_and_recovers_without_restart(fault_ctx, throwaway_postgres):  # noqa: F811
    app, patient = fault_ctx
    client = app.test_client()
    assert login(client, patient).status_code == 302
    assert client.get("/account").status_code == 200

    throwaway_postgres.stop()
    try:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.get_json() == {"status": "unavailable", "database": "down"}
        page = client.get("/account")
        assert page.status_code == 503
        html = page.get_data(as_text=True)
        assert "briefly unavailable" in html and "Traceback" not in html
        assert client.get("/me/", headers={"Accept": "application/json"}).status_code == 503
    finally:
        throwaway_postgres.start()

    # Same app object, same pool: pre-ping replaces the dead connections.
    assert client.get("/healthz").status_code == 200
    assert client.get("/account").status_code == 200  # and the session survived


def test_checkin_cut_off_half_way_is_not_saved(fault_ctx, throwaway_postgres):  # noqa: F811
    from portal.care.models import CheckIn

    app, patient = fault_ctx
    client = app.test_client()
    assert login(client, patient).status_code == 302
    token = csrf_token(client, "/me/checkin")
    engine = _db.engine
    state = {"inserted": False, "stopped": False}

    def cut_after_insert(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        # The check-in row is written; the database dies before the rest of the save.
        if state["inserted"] and not state["stopped"]:
            state["stopped"] = True
            throwaway_postgres.stop("immediate")
        if statement.lstrip().upper().startswith("INSERT INTO CHECKIN"):
            state["inserted"] = True

    event.listen(engine, "before_cursor_execute", cut_after_insert)
    try:
        response = client.post(
            "/me/checkin",
            data={
                "pain": 6,
                "stiffness": 5,
                "spasm_episodes": 2,
                "notes": "cut off half-way",
                "csrf_token": token,
                **dict.fromkeys(RED_FLAG_FIELDS, "no"),
            },
        )
    finally:
        event.remove(engine, "before_cursor_execute", cut_after_insert)
        throwaway_postgres.start()
    assert state["stopped"], "the save never reached the check-in insert"
    assert response.status_code == 503
    assert "was not saved" in response.get_data(as_text=True)
    with suppress(OperationalError):  # the test's own connection went down with the database
        _db.session.rollback()
    assert _db.session.scalar(_db.select(_db.func.count(CheckIn.id))) == 0

    # Sent again once the database is back, it is stored whole, once.
    token = csrf_token(client, "/me/checkin")
    again = client.post(
        "/me/checkin",
        data={
            "pain": 6,
            "stiffness": 5,
            "spasm_episodes": 2,
            "notes": "sent again",
            "csrf_token": token,
            **dict.fromkeys(RED_FLAG_FIELDS, "no"),
        },
    )
    assert again.status_code in (200, 302, 303)
    rows = _db.session.scalars(_db.select(CheckIn)).all()
    assert [(r.pain, r.stiffness, r.spasm_episodes, r.notes) for r in rows] == [(6, 5, 2, "sent again")]


# --- Redis down: the rate limiter falls back to memory -------------------------------------


def _closed_port_url() -> str:
    from tests.servers import free_port

    return f"redis://127.0.0.1:{free_port()}/0"


def _redis_available(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def sqlite_for_servers(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('redis-fault') / 'portal.sqlite3'}"

    def setup():
        from portal.auth.models import Clinic

        clinic = Clinic(name="Redis Clinic", city="Plano", phone="(469) 555-0100")
        _db.session.add(clinic)
        _db.session.flush()
        coach = create_account(email="redis.coach@example.org", name="Redis Coach", role=Role.COACH, password=PASSWORD)
        _db.session.flush()
        give_test_consent(
            create_account(
                email="redis.patient@example.org",
                name="Redis Patient",
                role=Role.PATIENT,
                clinic_id=clinic.id,
                coach_id=coach.id,
                password=PASSWORD,
            )
        )

    prepare_database(url, setup)
    return url


@pytest.mark.parametrize("redis_state", ["down", "up"])
def test_logins_work_and_are_rate_limited_whether_redis_is_up_or_down(sqlite_for_servers, redis_state):
    if redis_state == "up":
        redis_url = "redis://127.0.0.1:6379/13"
        if not _redis_available(redis_url):
            pytest.skip("no Redis on 127.0.0.1:6379")
    else:
        redis_url = _closed_port_url()
    prefix = f"holistiq-test-{uuid.uuid4().hex[:12]}"  # runs sharing the machine's Redis stay apart
    server = AppServer(sqlite_for_servers, redis_url, LOGIN_RATE_LIMIT="4 per minute", RATELIMIT_KEY_PREFIX=prefix)
    try:
        session = requests.Session()
        ok = post_login(session, server.url, "redis.patient@example.org", PASSWORD)
        assert ok.status_code == 302 and "/login" not in ok.headers["Location"]
        assert session.get(server.url + "/account", allow_redirects=False, timeout=10).status_code == 200
        statuses = [
            post_login(requests.Session(), server.url, "nobody@example.org", "wrong-password-1").status_code
            for _ in range(4)
        ]
        assert statuses[:3] == [401, 401, 401]
        assert statuses[3] == 429
        if redis_state == "up":
            store = redis.Redis.from_url(redis_url)
            keys = list(store.scan_iter(f"*{prefix}*auth.login*"))
            assert keys, "the limits were not kept in Redis"
            store.delete(*keys)
    finally:
        server.stop()


def test_a_value_the_database_refuses_is_a_400_not_a_500():
    """A value a form let through but the database refuses (a NUL byte on PostgreSQL)."""
    from sqlalchemy.exc import DataError

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")

    def refused():
        raise DataError("INSERT ...", {}, ValueError("text fields cannot contain NUL (0x00) bytes"))

    app.add_url_rule("/_test/refused", "test_refused", refused, methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/_test/refused")
    assert response.status_code == 400
    assert "Something in the request was not right" in response.get_data(as_text=True)
