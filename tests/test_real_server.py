"""Downloads and after-response work, served for real by gunicorn.

The test client keeps a request context open while a streamed body is read,
and never runs ``call_on_close``; a real server does neither. So every
download route (audit CSV, patient JSON and CSV export, calendar, printable
plan) is fetched from a gunicorn process here and checked to the last byte,
and the forgotten-password page is timed there against a real SMTP server.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
import requests
from icalendar import Calendar

from portal.audit import AuditEvent
from portal.auth.accounts import create_account
from portal.auth.models import Clinic, Role
from portal.extensions import db as _db
from portal.timeutil import utcnow
from tests.conftest import PASSWORD, TOTP_SECRET, give_test_consent
from tests.plan_factories import make_item, make_plan
from tests.servers import AppServer, form_token, once_per_run, post_login, prepare_database
from tests.smtp_server import SMTPServer, shared_server

pytestmark = once_per_run
AUDIT_ROWS = 1234  # more than one yield_per batch (500)
PUBLIC = "https://coach.holistiq.test"
ADMIN, PATIENT = "rs.admin@example.org", "rs.patient@example.org"


@pytest.fixture(scope="module")
def smtp() -> SMTPServer:
    server = shared_server()
    server.clear()
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory, smtp) -> Iterator[AppServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('real-server') / 'portal.sqlite3'}"

    def setup():
        clinic = Clinic(name="Real Clinic", city="Plano", phone="(469) 555-0101")
        _db.session.add(clinic)
        _db.session.flush()
        admin = create_account(email=ADMIN, name="Real Admin", role=Role.ADMIN, password=PASSWORD)
        admin.totp_secret, admin.totp_enabled = TOTP_SECRET, True
        coach = create_account(email="rs.coach@example.org", name="Real Coach", role=Role.COACH, password=PASSWORD)
        _db.session.flush()
        patient = create_account(
            email=PATIENT, name="Real Patient", role=Role.PATIENT, clinic_id=clinic.id, coach_id=coach.id
        )
        patient.password_hash = admin.password_hash  # the same PASSWORD
        _db.session.flush()
        give_test_consent(patient)
        make_plan(patient, items=[make_item(title="Pelvic tilt"), make_item(title="Chin tuck")], title="Real plan")
        start = utcnow() - timedelta(days=30)
        _db.session.add_all(
            AuditEvent(
                at=start + timedelta(minutes=n),
                actor_id=coach.id,
                action="patient.view",
                target_type="user",
                target_id=patient.id,
                patient_id=patient.id,
                ip="127.0.0.1",
                detail=f"row {n}",
            )
            for n in range(AUDIT_ROWS)
        )

    prepare_database(url, setup)
    app_server = AppServer(
        url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp.port),
        MAIL_USERNAME=smtp.username,
        MAIL_PASSWORD=smtp.password,
        MAIL_USE_TLS="0",
        MAIL_TIMEOUT="5",
        PUBLIC_BASE_URL=PUBLIC,
        LOGIN_RATE_LIMIT="1000 per minute",
    )
    yield app_server
    app_server.stop()


def _patient(server: AppServer) -> requests.Session:
    session = requests.Session()
    response = post_login(session, server.url, PATIENT, PASSWORD)
    assert response.status_code == 302 and "/login" not in response.headers["Location"]
    return session


def _admin(server: AppServer) -> requests.Session:
    session = requests.Session()
    response = post_login(session, server.url, ADMIN, PASSWORD)
    assert response.headers["Location"].endswith("/login/two-factor")
    token = form_token(session, server.url + "/login/two-factor")
    code = pyotp.TOTP(TOTP_SECRET).now()
    done = session.post(
        server.url + "/login/two-factor", data={"code": code, "csrf_token": token}, allow_redirects=False, timeout=10
    )
    assert done.status_code == 302 and "/login" not in done.headers["Location"]
    return session


def test_audit_csv_arrives_complete(server):
    response = _admin(server).get(server.url + "/admin/audit.csv", timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["at_utc", "actor", "action"]
    viewed = [row for row in rows[1:] if row[2] == "patient.view"]
    assert len(viewed) == AUDIT_ROWS  # every row, past the first batch, not only the header
    assert viewed[0][7] == f"row {AUDIT_ROWS - 1}" and viewed[-1][7] == "row 0"  # newest first, to the end
    assert {row[1] for row in viewed} == {"rs.coach@example.org"} and {row[5] for row in viewed} == {PATIENT}


def test_patient_exports_arrive_complete(server):
    patient = _patient(server)
    exported = patient.get(server.url + "/me/export.json", timeout=30)
    assert exported.status_code == 200
    data = json.loads(exported.content)  # a cut body would not parse
    assert PATIENT in json.dumps(data)
    archive = patient.get(server.url + "/me/export-csv.zip", timeout=30)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        assert zipped.testzip() is None and zipped.namelist()


def test_calendar_and_printable_plan_arrive_complete(server):
    patient = _patient(server)
    ics = patient.get(server.url + "/me/plan/calendar.ics", timeout=30)
    assert ics.status_code == 200
    calendar = Calendar.from_ical(ics.content)
    summaries = [str(event["SUMMARY"]) for event in calendar.walk("VEVENT")]
    assert summaries and all("Chin tuck" in text and "Pelvic tilt" in text for text in summaries)
    assert ics.text.rstrip().endswith("END:VCALENDAR")
    printed = patient.get(server.url + "/me/plan/print", timeout=30)
    assert printed.status_code == 200
    assert "Real plan" in printed.text and printed.text.rstrip().endswith("</html>")
    assert f"{PUBLIC}/library/" in printed.text


def _ask_for_reset(server: AppServer, email: str) -> float:
    session = requests.Session()
    token = form_token(session, server.url + "/password/forgot")
    started = time.perf_counter()
    response = session.post(
        server.url + "/password/forgot",
        data={"email": email, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 302
    return elapsed


def test_forgot_password_takes_as_long_for_known_and_unknown_emails(server, smtp):
    """The email is queued in the request and sent after the response, so timing tells nothing."""
    smtp.clear()
    # A slow relay (1 s per message): sending inside the request would show plainly.
    smtp.set_slow(1.0)
    try:
        known, unknown = [], []
        for n in range(5):
            unknown.append(_ask_for_reset(server, f"nobody{n}@example.org"))
            known.append(_ask_for_reset(server, PATIENT))
        delivered = smtp.wait_for(5, timeout=20)
    finally:
        smtp.set_slow(0)
    gap = abs(statistics.median(known) - statistics.median(unknown))
    print(f"forgot-password median: known {statistics.median(known):.4f}s, unknown {statistics.median(unknown):.4f}s")
    assert gap < 0.3, (known, unknown)
    # And the mail still goes out, with its link on the public address.
    assert len(delivered) == 5
    for message in delivered:
        assert message["To"] == PATIENT
        assert f"{PUBLIC}/password/reset?token=" in message.get_content()
