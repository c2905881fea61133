"""When I do my plan: the patient's times of day on the account page, and the plan reminders at them."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import pytest

import portal.models  # noqa: F401  - load the packages in the app's order
from portal.audit import AuditEvent
from portal.auth.models import DEFAULT_PLAN_TIMES, Role, User, format_plan_times, parse_plan_times
from portal.mail import OutboundEmail
from portal.messaging import reminders
from portal.messaging.models import PlanReminderSent
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_plan
from tests.smtp_server import smtp_server_fixture  # noqa: F401  (the smtp_server fixture)

# 2026-11-25 19:30 UTC is 13:30 on Wednesday Nov 25 in Chicago (CST, UTC-6).
NOW = datetime(2026, 11, 25, 19, 30)
DAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, list(DEFAULT_PLAN_TIMES)),
        ("", list(DEFAULT_PLAN_TIMES)),
        ("07:15", [time(7, 15)]),
        ("20:00,07:15", [time(7, 15), time(20, 0)]),
        ("09:00,09:00,bad", [time(9, 0)]),
        ("nonsense", list(DEFAULT_PLAN_TIMES)),
        ("01:00,02:00,03:00,04:00", [time(1), time(2), time(3)]),
    ],
)
def test_stored_times_read_sorted_distinct_at_most_three_else_the_defaults(stored, expected):
    assert parse_plan_times(stored) == expected
    assert format_plan_times([time(19), time(8), time(8)]) == "08:00,19:00"


def _form(token: str, first: str = "", second: str = "", third: str = "", reminders_on: bool = False) -> dict:
    data = {
        "csrf_token": token,
        "times-first_time": first,
        "times-second_time": second,
        "times-third_time": third,
        "times-submit": "Save my times",
    }
    if reminders_on:
        data["times-plan_reminders"] = "y"
    return data


def test_the_account_page_shows_the_defaults_and_saves_the_patients_times(db, patient, patient_client):
    html = patient_client.get("/account").get_data(as_text=True)
    assert '<h2 id="plan-times-heading" class="h4">When I do my plan</h2>' in html
    for name, value in (("first_time", "08:00"), ("second_time", "13:00"), ("third_time", "19:00")):
        assert re.search(rf'name="times-{name}"[^>]*value="{value}"', html), name
    token = csrf_token(patient_client, "/account")
    response = patient_client.post("/account", data=_form(token, "07:15", "", "20:00", reminders_on=True))
    assert response.status_code == 302 and response.headers["Location"].endswith("/account#plan-times")
    db.session.expire_all()
    saved = db.session.get(User, patient.id)
    assert saved.plan_times == [time(7, 15), time(20, 0)] and saved.plan_reminders is True
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "account.plan_times"))
    assert event.target_id == patient.id
    html = patient_client.get("/account").get_data(as_text=True)
    assert re.search(r'name="times-second_time"[^>]*value="20:00"', html)
    assert re.search(r'name="times-third_time"(?![^>]*value="\d)', html)


@pytest.mark.parametrize(
    ("times", "field", "message"),
    [
        (("", "", ""), "first_time", "Choose at least one time of day."),
        (("08:00", "08:00", ""), "second_time", "Choose a different time from the ones above."),
        (("08:00", "25:99", ""), "second_time", "Not a valid time value."),
    ],
)
def test_bad_times_are_refused_beside_the_field_and_nothing_is_saved(
    db, patient, patient_client, times, field, message
):
    token = csrf_token(patient_client, "/account")
    response = patient_client.post("/account", data=_form(token, *times))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(rf'id="times-{field}-error"[^>]*>\s*{re.escape(message)}', html), html[-3000:]
    db.session.expire_all()
    assert db.session.get(User, patient.id).plan_times_stored is None


def test_staff_have_no_plan_times(db, coach_client):
    assert "When I do my plan" not in coach_client.get("/account").get_data(as_text=True)


def _patient(make_user, times: str | None = "08:00,13:00,19:00", **kwargs) -> User:
    patient = make_user(Role.PATIENT, plan_reminders=True, plan_times_stored=times, **kwargs)
    plan = make_plan(patient, items=[make_item(title="Bridge"), make_item(title="Walk")], start_date=date(2026, 11, 1))
    plan.items[0].times_per_day, plan.items[1].times_per_day = 2, 1
    return patient


def test_a_plan_reminder_for_the_latest_time_passed_when_its_round_has_something_due(db, make_user):
    noon = _patient(make_user)  # 13:00 has passed: round 2 of 3 (the bridge is twice a day)
    make_user(Role.PATIENT, plan_reminders=False)  # did not ask
    later = _patient(make_user, "14:00,20:00")  # nothing has passed yet
    db.session.commit()
    due = reminders.due_plan_reminders(NOW)
    assert [(d.patient.id, d.day, d.slot, d.rounds) for d in due] == [(noon.id, DAY, 1, 3)]
    assert later.id
    # At 19:30 round 3 has nothing due (no item three times a day): no reminder.
    evening = datetime(2026, 11, 26, 1, 30)
    assert [d.patient.id for d in reminders.due_plan_reminders(evening) if d.patient.id == noon.id] == []


def test_each_plan_reminder_goes_once_through_smtp(smtp_server, db, make_user):
    patient = _patient(make_user, name="Rita Rounds")
    db.session.commit()
    assert reminders.send_plan_reminders(NOW) == 1
    assert reminders.send_plan_reminders(NOW) == 0  # claimed: a second worker or run sends nothing
    claim = db.session.scalar(db.select(PlanReminderSent))
    assert (claim.patient_id, claim.day, claim.slot) == (patient.id, DAY, 1)
    [email] = smtp_server.wait_for(1)
    assert email["To"] == patient.email and email["Subject"] == "Time for your home plan"
    body = email.get_content()
    assert "Hello Rita," in body and "round 2 of 3" in body
    for health_word in ("pain", "bridge", "walk", "red flag"):
        assert health_word not in body.lower()
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboundEmail)) == 1


def test_plan_reminders_read_the_same_statements_for_2_or_12_patients(db, make_user, queries):
    for _ in range(2):
        _patient(make_user)
    db.session.commit()
    with queries() as few:
        assert len(reminders.due_plan_reminders(NOW)) == 2
    for _ in range(10):
        _patient(make_user)
    db.session.commit()
    with queries() as many:
        assert len(reminders.due_plan_reminders(NOW)) == 12
    assert len(many) == len(few)
