"""Several app servers, one database: two gunicorn processes on different ports, one
PostgreSQL (a throwaway cluster of the tests' own) and one Redis.

A browser behind a load balancer may reach either server on each request, so a
session, a rate limit, a lockout and a used two-step code must hold on both,
and a reminder run started on both machines must email once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pyotp
import pytest
import redis
import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import create_engine, text

from portal.auth.accounts import create_account
from portal.auth.models import Role
from portal.extensions import db as _db
from tests.conftest import PASSWORD, TOTP_SECRET, give_test_consent
from tests.servers import (  # noqa: F401
    ROOT,
    SECRET_KEY,
    AppServer,
    form_token,
    once_per_run,
    post_login,
    prepare_database,
    throwaway_postgres,
)

REDIS_URL = os.environ.get("MULTI_SERVER_REDIS_URL", "redis://127.0.0.1:6379/14")
# Several test runs may share the machine's Redis: this run's counters carry their own prefix.
KEY_PREFIX = f"holistiq-test-{uuid.uuid4().hex[:12]}"
LOGIN_LIMIT = 6
pytestmark = once_per_run
PATIENTS = ("ms.alice", "ms.bob", "ms.carol", "ms.dave", "ms.erin")


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def cluster(throwaway_postgres) -> Iterator[tuple[AppServer, AppServer, str]]:  # noqa: F811
    if not _redis_up():
        pytest.skip(f"no Redis at {REDIS_URL}")
    url = throwaway_postgres.url

    def setup():
        from portal.auth.models import Clinic

        clinic = Clinic(name="Multi Clinic", city="Irving", phone="(972) 555-0100")
        _db.session.add(clinic)
        _db.session.flush()
        coach = create_account(email="ms.coach@example.org", name="Multi Coach", role=Role.COACH, password=PASSWORD)
        coach.totp_secret, coach.totp_enabled = TOTP_SECRET, True
        _db.session.flush()
        for name in PATIENTS:
            give_test_consent(
                create_account(
                    email=f"{name}@example.org",
                    name=name,
                    role=Role.PATIENT,
                    clinic_id=clinic.id,
                    coach_id=coach.id,
                    password=PASSWORD,
                )
            )

    prepare_database(url, setup)
    env = {
        "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per minute",
        "LOGIN_MAX_FAILURES": "5",
        "RATELIMIT_KEY_PREFIX": KEY_PREFIX,
    }
    first = AppServer(url, REDIS_URL, wait=False, **env)
    second = AppServer(url, REDIS_URL, wait=False, **env)
    try:
        first.wait_until_up()
        second.wait_until_up()
        yield first, second, url
    finally:
        first.stop()
        second.stop()
        _forget_counters()


def _forget_counters() -> None:
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(f"*{KEY_PREFIX}*"):
        store.delete(key)


@pytest.fixture
def servers(cluster) -> tuple[AppServer, AppServer, str]:
    _forget_counters()  # each test starts with fresh rate-limit counters
    return cluster


def _get(session: requests.Session, url: str) -> requests.Response:
    return session.get(url, allow_redirects=False, timeout=10)


def test_signed_in_on_one_server_is_signed_in_on_the_other(servers):
    a, b, _ = servers
    browser = requests.Session()  # cookies are per host, not per port: like one site behind a balancer
    assert post_login(browser, a.url, "ms.alice@example.org", PASSWORD).status_code == 302
    assert _get(browser, a.url + "/account").status_code == 200
    assert _get(browser, b.url + "/account").status_code == 200

    # A form from one server is accepted by the other (same CSRF secret and session).
    token = form_token(browser, a.url + "/account")
    response = browser.post(
        b.url + "/account",
        data={"prefs-submit": "Save preferences", "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302

    # A password change on B ends the session everywhere, A included.
    stolen_cookie = requests.Session()
    stolen_cookie.cookies.update(browser.cookies)
    new_password = "another-long-passphrase-31"
    token = form_token(browser, b.url + "/account")
    browser.post(
        b.url + "/account",
        data={
            "pw-current_password": PASSWORD,
            "pw-password": new_password,
            "pw-confirm": new_password,
            "pw-submit": "Change password",
            "csrf_token": token,
        },
        timeout=10,
    )
    assert _get(stolen_cookie, a.url + "/account").status_code == 302


def test_two_step_sign_in_across_servers_and_a_code_works_once(servers):
    a, b, _ = servers
    browser = requests.Session()
    step = post_login(browser, a.url, "ms.coach@example.org", PASSWORD)
    assert step.headers["Location"].endswith("/login/two-factor")
    code = pyotp.TOTP(TOTP_SECRET).now()
    token = form_token(browser, b.url + "/login/two-factor")
    done = browser.post(
        b.url + "/login/two-factor", data={"code": code, "csrf_token": token}, allow_redirects=False, timeout=10
    )
    assert done.status_code == 302 and "/login" not in done.headers["Location"]
    assert _get(browser, a.url + "/account").status_code == 200

    # The same code replayed on the other server is refused.
    other = requests.Session()
    post_login(other, b.url, "ms.coach@example.org", PASSWORD)
    token = form_token(other, a.url + "/login/two-factor")
    replay = other.post(a.url + "/login/two-factor", data={"code": code, "csrf_token": token}, timeout=10)
    assert replay.status_code == 401


def test_rate_limit_counts_requests_on_both_servers(servers):
    a, b, _ = servers
    statuses = []
    for attempt in range(LOGIN_LIMIT + 2):
        server = (a, b)[attempt % 2]
        statuses.append(
            post_login(requests.Session(), server.url, "nobody@example.org", "wrong-password-9").status_code
        )
    assert statuses[:LOGIN_LIMIT] == [401] * LOGIN_LIMIT
    assert statuses[LOGIN_LIMIT:] == [429, 429]


def test_lockout_counts_failures_on_both_servers(servers):
    a, b, _ = servers
    for attempt in range(5):
        server = (a, b)[attempt % 2]
        assert post_login(requests.Session(), server.url, "ms.bob@example.org", "wrong-password-9").status_code == 401
    _forget_counters()  # the lockout, not the rate limit, must be what stops it
    for server in (a, b):
        assert post_login(requests.Session(), server.url, "ms.bob@example.org", PASSWORD).status_code == 401


def test_a_reminder_run_on_both_machines_sends_once(servers):
    _, _, url = servers
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            # No quiet hours (equal start and end), so the run sends whatever the hour on the real clock.
            text(
                "UPDATE user_account SET reminder_time = '00:00:00', quiet_start = '00:00:00', quiet_end = '00:00:00'"
                " WHERE email IN (:c, :d)"
            ),
            {"c": "ms.carol@example.org", "d": "ms.dave@example.org"},
        )
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "PORTAL_ENV": "development",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "MAIL_SERVER": "",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("TEST_DATABASE_URL", None)
    command = [sys.executable, "-m", "flask", "reminders", "send"]
    runs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    with engine.connect() as conn:
        emails = conn.execute(
            text("SELECT recipient, count(*) FROM outbound_message WHERE recipient LIKE 'ms.%' GROUP BY recipient")
        ).all()
        claims = conn.execute(text("SELECT count(*) FROM reminder_sent")).scalar()
    engine.dispose()
    assert sorted(emails) == [("ms.carol@example.org", 1), ("ms.dave@example.org", 1)]
    assert claims == 2


def _session_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'action="/account/sessions/(\d+)/end"', html)]


def _signed_cookie(data: dict) -> str:
    """A session cookie signed with the servers' own SECRET_KEY: what an attacker with the key could forge."""
    forger = Flask("forger")
    forger.secret_key = SECRET_KEY
    return SecureCookieSessionInterface().get_signing_serializer(forger).dumps(data)


def test_sessions_ended_on_one_server_are_ended_on_the_other(servers):
    a, b, url = servers
    laptop, phone = requests.Session(), requests.Session()
    assert post_login(laptop, a.url, "ms.erin@example.org", PASSWORD).status_code == 302
    assert post_login(phone, b.url, "ms.erin@example.org", PASSWORD).status_code == 302
    copied = requests.Session()
    copied.cookies.update(laptop.cookies)

    # Sign-out on A: the copied cookie gets the login page on B (and on A).
    token = form_token(laptop, a.url + "/account")
    laptop.post(a.url + "/logout", data={"csrf_token": token}, timeout=10)
    for server in (b, a):
        response = _get(copied, server.url + "/me/")
        assert response.status_code == 302 and response.headers["Location"].split("?")[0].endswith("/login")

    # "End session" on B for a session in use on A.
    assert post_login(laptop, a.url, "ms.erin@example.org", PASSWORD).status_code == 302
    page = phone.get(b.url + "/account", timeout=10).text
    (other_id,) = _session_ids(page)
    token = form_token(phone, b.url + "/account")
    assert phone.post(b.url + f"/account/sessions/{other_id}/end", data={"csrf_token": token}, timeout=10).ok
    assert _get(laptop, a.url + "/me/").status_code == 302
    assert _get(phone, a.url + "/me/").status_code == 200

    # Idle past the limit: ended on both servers, whichever sees it first.
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE user_session SET last_active_at = last_active_at - interval '3 days'"
                " WHERE user_id = (SELECT id FROM user_account WHERE email = 'ms.erin@example.org')"
            )
        )
    engine.dispose()
    assert _get(phone, a.url + "/me/").status_code == 302
    assert _get(phone, b.url + "/me/").status_code == 302


def test_a_forged_pending_cookie_gets_the_login_page_on_both_servers(servers):
    a, b, _ = servers
    for pending in ({"challenge": "forged-0123456789abcdefghijklmnop"}, {"token": "old-style-session-token"}):
        forged = requests.Session()
        forged.cookies.set("session", _signed_cookie({"2fa_pending": pending}))
        for server in (a, b):
            response = _get(forged, server.url + "/login/two-factor")
            assert response.status_code == 302 and response.headers["Location"].endswith("/login")
