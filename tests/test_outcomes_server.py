"""The Outcomes downloads served for real by gunicorn: complete files, the right headers, audited.

The test client keeps the request context open while a body is read; a real server does not,
so both CSV files are fetched from a gunicorn process over HTTP and read to the last row. The
server runs on the database of the pass: on PostgreSQL the report's statements run side by side
on the worker's pooled connections (portal.snapshot_reads), as in production.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pyotp
import pytest
import requests
from sqlalchemy import create_engine, text

from config import TestingConfig
from portal.auth.accounts import create_account
from portal.auth.models import Role
from portal.extensions import db as _db
from tests.conftest import PASSWORD, TOTP_SECRET
from tests.dbutil import create_postgres_database, drop_postgres_database, is_postgres
from tests.outcome_cohorts import PatientSpec, build
from tests.servers import AppServer, form_token, post_login, prepare_database

ADMIN = "os.admin@example.org"
PATIENTS = 130  # several groups of each kind, and more rows than a screenful


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[AppServer]:
    base = TestingConfig.SQLALCHEMY_DATABASE_URI
    if is_postgres(base):
        url = create_postgres_database(base)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('outcomes-server') / 'portal.sqlite3'}"

    def setup():
        admin = create_account(email=ADMIN, name="Outcome Admin", role=Role.ADMIN, password=PASSWORD)
        admin.totp_secret, admin.totp_enabled = TOTP_SECRET, True
        specs = [
            PatientSpec(n % 2, n % 3, n % 2, 30 + n % 40, pains={0: 7, 10: 5, 20: 3 + n % 4}, alerts=[1.0 + n % 5])
            for n in range(PATIENTS)
        ]
        build(specs, clinics=2, coaches=3, programs=2)
        _db.session.commit()

    prepare_database(url, setup)
    app_server = AppServer(url, LOGIN_RATE_LIMIT="1000 per minute")
    app_server.database_url = url
    yield app_server
    app_server.stop()
    if is_postgres(url):
        drop_postgres_database(url)


@pytest.fixture(scope="module")
def session(server) -> requests.Session:
    """The admin, signed in once (an authenticator code works once)."""
    session = requests.Session()
    assert post_login(session, server.url, ADMIN, PASSWORD).headers["Location"].endswith("/login/two-factor")
    token = form_token(session, server.url + "/login/two-factor")
    done = session.post(
        server.url + "/login/two-factor",
        data={"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/outcomes/")
    return session


def _audited(server: AppServer, action: str) -> int:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM audit_event WHERE action = :a"), {"a": action}).scalar()
    finally:
        engine.dispose()


def test_outcome_downloads_arrive_complete_and_audited(server, session):
    page = session.get(server.url + "/outcomes/?compare=coach", timeout=30)
    assert page.status_code == 200 and f'data-stat="started">{PATIENTS}<' in page.text

    report = session.get(server.url + "/outcomes/report.csv?weeks=2", timeout=30)
    assert report.status_code == 200 and report.headers["Content-Type"].startswith("text/csv")
    assert report.headers["Content-Disposition"].startswith('attachment; filename="holistiq-outcomes-')
    assert report.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(report.text)))
    assert ["# Weeks in the programme", "At least 2 weeks"] in rows
    body = rows[[r[0] if r else "" for r in rows].index("group_type") + 1 :]
    # All patients, two clinics, three coaches, two programs: every row there, every one whole.
    assert [row[0] for row in body] == ["all", "clinic", "clinic", "coach", "coach", "coach", "program", "program"]
    assert body[0][2] == str(PATIENTS) and all(len(row) == len(rows[len(rows) - len(body) - 1]) for row in body)

    patients = session.get(server.url + "/outcomes/patients.csv", timeout=30)
    assert patients.status_code == 200
    lines = list(csv.reader(io.StringIO(patients.text)))
    assert lines[0][0] == "report_id" and len(lines) == PATIENTS + 1
    assert len({line[0] for line in lines[1:]}) == PATIENTS  # one stable id each
    assert "@example.org" not in patients.text and "Zz Outcome patient" not in patients.text
    again = session.get(server.url + "/outcomes/patients.csv", timeout=30)
    assert again.text == patients.text  # the same ids on the next download

    assert _audited(server, "outcomes.export") == 1
    assert _audited(server, "outcomes.patient_export") == 2


def test_bad_filters_are_refused_by_the_real_server(server, session):
    response = session.get(
        server.url + "/outcomes/report.csv?started_from=2026-02-01&started_to=2020-01-01", timeout=30
    )
    assert response.status_code == 400
    assert "The second date must be on or after the first." in response.text
