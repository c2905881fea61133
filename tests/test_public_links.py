"""Every link the portal writes into an email or a file is on PUBLIC_BASE_URL.

A forged ``Host`` (or ``X-Forwarded-Host``) must never choose where a reset or
invitation token, or any other link, points: each kind of email and file is
produced here from a request with both headers forged, and every URL in it is
checked.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path

import pytest

from portal.auth.models import Role
from portal.mail import OutboundEmail
from portal.messaging.reminders import checkin_messages
from tests.conftest import NO_QUIET_HOURS, csrf_token
from tests.plan_factories import make_item, make_plan

EVIL = "evil.example"
FORGED = {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https"}
URL = re.compile(r"https?://[^\s\"'<>]+")
ROOT = Path(__file__).resolve().parents[1]


def _assert_public(app, text: str, *, expect: int = 1) -> None:
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    # iCalendar folds long lines (CRLF + space): unfold before looking for URLs.
    text = text.replace("\r\n ", "").replace("\\n", "\n")
    urls = URL.findall(text)
    assert len(urls) >= expect, f"expected at least {expect} link(s) in: {text[:500]}"
    for url in urls:
        assert url == base or url.startswith(base + "/"), f"{url} is not on {base}"
    assert EVIL not in text


def _forge(client):
    """Send the signed-in client's cookies to the forged host too (cookies are bound to a domain)."""
    for cookie in list(client._cookies.values()):
        client.set_cookie(cookie.key, cookie.value, domain=EVIL, path=cookie.path)
    return client


def _bodies(db) -> list[str]:
    return [mail.body for mail in db.session.scalars(db.select(OutboundEmail).order_by(OutboundEmail.id))]


def test_forgot_password_email_ignores_a_forged_host(app, db, client, patient):
    token = csrf_token(client, "/password/forgot")
    response = _forge(client).post(
        "/password/forgot", data={"email": patient.email, "csrf_token": token}, headers=FORGED
    )
    assert response.status_code == 302
    [body] = _bodies(db)
    assert "/password/reset?token=" in body
    _assert_public(app, body)


def test_admin_invitation_and_send_link_ignore_a_forged_host(app, db, admin_client, coach, clinic, patient):
    data = {
        "name": "Nora Newpatient",
        "email": "nora@example.org",
        "role": "patient",
        "clinic_id": str(clinic.id),
        "coach_id": str(coach.id),
        "phone": "(214) 555-0112",
        "csrf_token": csrf_token(admin_client, "/admin/accounts/new"),
    }
    _forge(admin_client)
    assert admin_client.post("/admin/accounts/new", data=data, headers=FORGED).status_code == 302
    token = csrf_token(admin_client, f"/admin/accounts/{patient.id}")
    _forge(admin_client)
    response = admin_client.post(f"/admin/accounts/{patient.id}/send-link", data={"csrf_token": token}, headers=FORGED)
    assert response.status_code == 302
    invitation, reset = _bodies(db)
    assert "/invitation?token=" in invitation and "/password/reset?token=" in reset
    _assert_public(app, invitation)
    _assert_public(app, reset)


def test_message_notifications_ignore_a_forged_host(app, db, patient, patient_client, coach_client):
    path = "/messages/"
    token = csrf_token(patient_client, path)
    _forge(patient_client)
    assert patient_client.post(path, data={"body": "Hello", "csrf_token": token}, headers=FORGED).status_code == 302
    path = f"/messages/patients/{patient.id}"
    token = csrf_token(coach_client, path)
    _forge(coach_client)
    assert coach_client.post(path, data={"body": "Hi", "csrf_token": token}, headers=FORGED).status_code == 302
    bodies = _bodies(db)
    assert len(bodies) == 2
    for body in bodies:
        _assert_public(app, body, expect=2)


def test_reminder_email_ignores_the_request_it_runs_in(app, db, make_user):
    patient = make_user(Role.PATIENT, reminder_time=time(0, 0), **NO_QUIET_HOURS)
    # Reminders run from cron, but even inside a forged request their links stay public.
    with app.test_request_context("/", headers=FORGED):
        email, text = checkin_messages(patient, [("email", patient.email), ("text", "+12145550100")])
    _assert_public(app, email.body, expect=2)
    _assert_public(app, text.body, expect=1)
    assert text.link == email.link


def test_calendar_file_ignores_a_forged_host(app, db, patient, patient_client):
    make_plan(patient, items=[make_item(title="Pelvic tilt"), make_item(title="Chin tuck")])
    response = _forge(patient_client).get("/me/plan/calendar.ics", headers=FORGED)
    assert response.status_code == 200
    _assert_public(app, response.get_data(as_text=True), expect=2)


def test_printable_plan_links_ignore_a_forged_host(app, db, patient, patient_client):
    make_plan(patient, items=[make_item(title="Pelvic tilt")])
    response = _forge(patient_client).get("/me/plan/print", headers=FORGED)
    assert response.status_code == 200
    _assert_public(app, response.get_data(as_text=True), expect=2)


@pytest.mark.parametrize("pattern", [r"(?<!force)_external=True", r"host_url", r"url_root", r"request\.host"])
def test_no_code_builds_links_from_the_request(pattern):
    """One helper (portal.mail.public_url) builds absolute links; nothing reads the request's host."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in [*(ROOT / "portal").rglob("*.py"), *(ROOT / "templates").rglob("*.html")]
        if re.search(pattern, path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
