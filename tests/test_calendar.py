"""The plan as a calendar file (.ics, parsed with `icalendar`) and as a printable page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care.models import PlanItem
from portal.patients.calendar import first_occurrence, plan_calendar
from tests.plan_factories import make_item, make_plan

MONDAY = date(2026, 11, 23)


def _events(raw: bytes) -> list:
    return Calendar.from_ical(raw).walk("VEVENT")


def test_first_occurrence_uses_monday_zero():
    assert first_occurrence(MONDAY, "0123456") == MONDAY
    assert first_occurrence(MONDAY, "2") == date(2026, 11, 25)  # Wednesday
    assert first_occurrence(MONDAY, "6") == date(2026, 11, 29)  # Sunday
    assert first_occurrence(date(2026, 11, 28), "04") == date(2026, 11, 30)  # Saturday -> next Monday


def test_one_weekly_event_per_scheduled_item_matching_the_plan(db, patient):
    bridge = make_item(title="Glute bridge", cautions="Keep your lower back flat.")
    walk = make_item(title="Short walk", kind="posture", cautions="")
    water = make_item(title="Drink water", kind="diet")
    plan = make_plan(patient, items=[bridge, walk, water], start_date=MONDAY)
    plan.items[0].weekdays = "024"  # Mon, Wed, Fri
    plan.items[0].coach_note = "Slow on the way down."
    plan.items[1].weekdays = "56"  # weekend
    plan.items[2].weekdays = ""  # not scheduled: no event
    db.session.commit()

    raw = plan_calendar(plan, "America/Chicago", time(7, 30))
    cal = Calendar.from_ical(raw)
    assert str(cal["VERSION"]) == "2.0" and "Holistiq" in str(cal["PRODID"])
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/Chicago"]
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"Glute bridge", "Short walk"}

    bridge_event = events["Glute bridge"]
    assert bridge_event.decoded("DTSTART") == datetime(2026, 11, 23, 7, 30, tzinfo=ZoneInfo("America/Chicago"))
    assert bridge_event.decoded("DURATION") == timedelta(minutes=15)
    rule = bridge_event["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["MO", "WE", "FR"]
    assert "UNTIL" not in rule
    description = str(bridge_event["DESCRIPTION"])
    assert "2 sets of 10 reps · hold 5 s · twice a day" in description
    assert "Slow on the way down." in description and "Keep your lower back flat." in description
    assert f"/library/{bridge.id}" in description
    assert str(bridge_event["UID"]) == f"plan-{plan.id}-item-{plan.items[0].id}@holistiq-coach"

    walk_event = events["Short walk"]
    assert walk_event.decoded("DTSTART").date() == date(2026, 11, 28)  # first Saturday
    assert walk_event["RRULE"]["BYDAY"] == ["SA", "SU"]


def test_the_recurrence_expands_to_the_planned_days(db, patient):
    """Expanding the RRULE (python-dateutil) gives exactly the scheduled weekdays."""
    from dateutil.rrule import rrulestr

    plan = make_plan(patient, items=[make_item(title="Cat-cow")], start_date=date(2026, 11, 25), weekdays="13")
    [event] = _events(plan_calendar(plan, "America/Chicago"))
    start = event.decoded("DTSTART")
    rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=start)
    days = [d.date() for d in rule[:4]]
    assert days == [date(2026, 11, 26), date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 8)]  # Thu, Tue, ...
    assert all(d.weekday() in (1, 3) for d in days)
    assert start.hour == 8  # the default time of day


def test_an_end_date_becomes_until_in_utc(db, patient):
    plan = make_plan(patient, items=[make_item()], start_date=MONDAY)
    plan.end_date = date(2026, 12, 31)
    db.session.commit()
    [event] = _events(plan_calendar(plan, "America/Chicago"))
    until = event["RRULE"]["UNTIL"][0]
    assert until.tzinfo is not None and until.utcoffset() == timedelta(0)
    assert until.astimezone(ZoneInfo("America/Chicago")).date() == date(2026, 12, 31)


def test_patient_downloads_the_ics(db, patient, patient_client):
    plan = make_plan(patient, items=[make_item(title="Pelvic tilt"), make_item(title="Chin tuck")])
    response = patient_client.get("/me/plan/calendar.ics?at=18:45")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    events = _events(response.data)
    assert sorted(str(e["SUMMARY"]) for e in events) == ["Chin tuck", "Pelvic tilt"]
    assert {e.decoded("DTSTART").time() for e in events} == {time(18, 45)}
    audit = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "plan.calendar_export"))
    assert audit.patient_id == patient.id and audit.target_id == plan.id


def test_removed_items_are_left_out(db, patient, patient_client):
    plan = make_plan(patient, items=[make_item(title="Kept"), make_item(title="Removed")])
    plan.items[1].is_active = False
    db.session.commit()
    events = _events(patient_client.get("/me/plan/calendar.ics").data)
    assert [str(e["SUMMARY"]) for e in events] == ["Kept"]


@pytest.mark.parametrize("bad", ["25:00", "8am", "08:60", "08:00:00", "x" * 300, "'; drop"])
def test_a_time_that_is_not_a_time_is_400(db, patient, patient_client, bad):
    make_plan(patient, items=[make_item()])
    response = patient_client.get("/me/plan/calendar.ics", query_string={"at": bad})
    assert response.status_code == 400
    assert "time of day" in response.get_data(as_text=True)


def test_no_plan_means_404_and_other_roles_403(db, patient_client, coach_client, admin_client, client):
    assert patient_client.get("/me/plan/calendar.ics").status_code == 404
    for other in (coach_client, admin_client):
        assert other.get("/me/plan/calendar.ics").status_code == 403
        assert other.get("/me/plan/print").status_code == 403
    assert client.get("/me/plan/calendar.ics").status_code == 302  # to the login page


def test_a_patient_only_ever_gets_their_own_plan(db, make_user, patient, login_as):
    other = make_user(Role.PATIENT)
    make_plan(other, items=[make_item(title="Someone else's stretch")])
    make_plan(patient, items=[make_item(title="My own stretch")])
    client = login_as(patient)
    assert "Someone else" not in client.get("/me/plan/calendar.ics").get_data(as_text=True)
    assert "Someone else" not in client.get("/me/plan/print").get_data(as_text=True)


def test_printable_plan_has_everything_and_no_navigation(db, patient, coach, clinic, patient_client):
    item = make_item(
        title="Knee to chest",
        instructions="Lie on your back.\nBring one knee up.",
        cautions="Do not pull on the knee joint.",
    )
    plan = make_plan(patient, items=[item], weekdays="024", title="Calm the spasms", note="Breathe out as you pull.")
    html = patient_client.get("/me/plan/print").get_data(as_text=True)
    assert "<h1" in html and html.count("<h1") == 1
    assert 'class="navbar' not in html and "site-footer" not in html
    for expected in (
        "Calm the spasms",
        "Knee to chest",
        "2 sets of 10 reps · hold 5 s · twice a day",
        "Mon, Wed, Fri",
        "Breathe out as you pull.",
        "<li>Lie on your back.</li>",
        "Do not pull on the knee joint.",
        coach.name,
        clinic.phone,
        "911",
        "css/print.css",
        "js/print.js",
    ):
        assert expected in html, expected
    assert "<script>" not in html and "style=" not in html  # strict CSP
    assert plan.id


def test_printable_page_without_a_plan_says_so(db, patient_client):
    html = patient_client.get("/me/plan/print").get_data(as_text=True)
    assert "has not set up a plan" in html


def test_my_plan_links_to_print_and_calendar(db, patient, patient_client):
    make_plan(patient, items=[make_item()])
    html = patient_client.get("/me/plan").get_data(as_text=True)
    assert 'href="/me/plan/print"' in html and 'href="/me/plan/calendar.ics"' in html


def test_print_and_ics_query_counts_do_not_grow(db, patient, patient_client, queries):
    plan = make_plan(patient, items=[make_item() for _ in range(2)])
    patient_client.get("/me/")  # the first page after sign-in also checks consent, once per session
    with queries() as small_print:
        patient_client.get("/me/plan/print")
    with queries() as small_ics:
        patient_client.get("/me/plan/calendar.ics")
    extra = [make_item().id for _ in range(12)]
    for n, library_item_id in enumerate(extra):
        plan.items.append(PlanItem(library_item_id=library_item_id, weekdays="0", position=10 + n))
    db.session.commit()
    with queries() as large_print:
        patient_client.get("/me/plan/print")
    with queries() as large_ics:
        patient_client.get("/me/plan/calendar.ics")
    assert len(large_print) == len(small_print)
    assert len(large_ics) == len(small_ics)


def test_a_broken_time_zone_falls_back_to_the_practice_zone(db, patient):
    plan = make_plan(patient, items=[make_item()], start_date=MONDAY)
    [event] = _events(plan_calendar(plan, "Mars/Olympus_Mons"))
    assert str(event.decoded("DTSTART").tzinfo) == "America/Chicago"
