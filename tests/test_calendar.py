"""The plan as a calendar file (.ics, parsed with `icalendar`) and as a printable page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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


THREE = [time(8, 0), time(13, 0), time(19, 0)]


def _by_round(raw: bytes) -> dict[int, object]:
    return {int(str(e["UID"]).split("-round-")[1].split("@")[0]): e for e in _events(raw)}


def test_one_event_per_time_of_day_listing_that_rounds_items(db, patient):
    bridge = make_item(title="Glute bridge", cautions="Keep your lower back flat.")
    walk = make_item(title="Short walk", kind="posture", cautions="")
    water = make_item(title="Drink water", kind="diet")
    plan = make_plan(patient, items=[bridge, walk, water], start_date=MONDAY)
    first, second, third = plan.items
    first.weekdays, first.times_per_day, first.coach_note = "024", 3, "Slow on the way down."  # Mon, Wed, Fri
    second.weekdays, second.times_per_day = "56", 2  # weekend
    third.weekdays = ""  # not scheduled: in no event
    db.session.commit()

    raw = plan_calendar(plan, "America/Chicago", [time(7, 30), time(12, 0), time(18, 15)])
    cal = Calendar.from_ical(raw)
    assert str(cal["VERSION"]) == "2.0" and "Holistiq" in str(cal["PRODID"])
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/Chicago"]
    rounds = _by_round(raw)
    assert sorted(rounds) == [1, 2, 3]  # one event per time of day, whatever the number of items
    morning, noon, evening = rounds[1], rounds[2], rounds[3]
    assert str(morning["SUMMARY"]) == "Home plan, round 1 of 3: Glute bridge, Short walk"
    assert str(noon["SUMMARY"]) == "Home plan, round 2 of 3: Glute bridge, Short walk"
    assert str(evening["SUMMARY"]) == "Home plan, round 3 of 3: Glute bridge"  # the walk is twice a day
    assert morning.decoded("DTSTART") == datetime(2026, 11, 23, 7, 30, tzinfo=ZoneInfo("America/Chicago"))
    assert noon.decoded("DTSTART").time() == time(12, 0) and evening.decoded("DTSTART").time() == time(18, 15)
    assert morning.decoded("DURATION") == timedelta(minutes=15)
    assert morning["RRULE"]["FREQ"] == ["WEEKLY"] and morning["RRULE"]["BYDAY"] == ["MO", "WE", "FR", "SA", "SU"]
    assert evening["RRULE"]["BYDAY"] == ["MO", "WE", "FR"]
    assert "UNTIL" not in morning["RRULE"]
    description = str(morning["DESCRIPTION"])
    assert "- Glute bridge: 2 sets of 10 reps · hold 5 s · 3 times a day · Mon, Wed, Fri" in description
    assert "Slow on the way down." in description and "Keep your lower back flat." in description
    assert f"/library/{bridge.id}" in description and "- Short walk: " in description
    assert "Drink water" not in raw.decode()
    assert str(morning["UID"]) == f"plan-{plan.id}-round-1@holistiq-coach"
    # One alarm per event: at most three a day, however many items.
    alarms = [alarm for event in rounds.values() for alarm in event.walk("VALARM")]
    assert len(alarms) == 3 and {str(a["ACTION"]) for a in alarms} == {"DISPLAY"}
    assert all(a.decoded("TRIGGER") == timedelta(0) for a in alarms)


def test_a_round_with_nothing_due_has_no_event_and_fewer_times_mean_fewer_events(db, patient):
    plan = make_plan(patient, items=[make_item(title="Cat-cow"), make_item(title="Chin tuck")], start_date=MONDAY)
    for item in plan.items:
        item.times_per_day = 1
    db.session.commit()
    assert sorted(_by_round(plan_calendar(plan, "America/Chicago", THREE))) == [1]
    [event] = _events(plan_calendar(plan, "America/Chicago", [time(20, 0)]))
    assert str(event["SUMMARY"]) == "Home plan, round 1 of 1: Cat-cow, Chin tuck"
    plan.items[0].times_per_day = 4  # more sessions than times of day: in every round
    db.session.commit()
    rounds = _by_round(plan_calendar(plan, "America/Chicago", [time(9, 0), time(17, 0)]))
    assert str(rounds[2]["SUMMARY"]) == "Home plan, round 2 of 2: Cat-cow"


def test_the_recurrence_expands_to_the_planned_days(db, patient):
    """Expanding the RRULE (python-dateutil) gives exactly the scheduled weekdays."""
    from dateutil.rrule import rrulestr

    plan = make_plan(patient, items=[make_item(title="Cat-cow")], start_date=date(2026, 11, 25), weekdays="13")
    plan.items[0].times_per_day = 1
    db.session.commit()
    [event] = _events(plan_calendar(plan, "America/Chicago", THREE))
    start = event.decoded("DTSTART")
    rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=start)
    days = [d.date() for d in rule[:4]]
    assert days == [date(2026, 11, 26), date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 8)]  # Thu, Tue, ...
    assert all(d.weekday() in (1, 3) for d in days)
    assert start.hour == 8


def test_an_end_date_becomes_until_in_utc(db, patient):
    plan = make_plan(patient, items=[make_item()], start_date=MONDAY)
    plan.end_date = date(2026, 12, 31)
    db.session.commit()
    for event in _events(plan_calendar(plan, "America/Chicago", THREE)):
        until = event["RRULE"]["UNTIL"][0]
        assert until.tzinfo is not None and until.utcoffset() == timedelta(0)
        assert until.astimezone(ZoneInfo("America/Chicago")).date() == date(2026, 12, 31)


def test_patient_downloads_the_ics_at_their_times_of_day(db, patient, patient_client):
    plan = make_plan(patient, items=[make_item(title="Pelvic tilt"), make_item(title="Chin tuck")])
    response = patient_client.get("/me/plan/calendar.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    events = _events(response.data)
    # The defaults (08:00, 13:00, 19:00); both items are due twice a day: two rounds.
    assert sorted(e.decoded("DTSTART").time() for e in events) == [time(8, 0), time(13, 0)]
    patient.plan_times_stored = "06:45,18:30"
    db.session.commit()
    events = _events(patient_client.get("/me/plan/calendar.ics").data)
    assert sorted(e.decoded("DTSTART").time() for e in events) == [time(6, 45), time(18, 30)]
    assert all("Pelvic tilt, Chin tuck" in str(e["SUMMARY"]) for e in events)
    audit = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "plan.calendar_export"))
    assert audit.patient_id == patient.id and audit.target_id == plan.id


def test_removed_items_are_left_out(db, patient, patient_client):
    plan = make_plan(patient, items=[make_item(title="Kept"), make_item(title="Removed")])
    plan.items[1].is_active = False
    db.session.commit()
    raw = patient_client.get("/me/plan/calendar.ics").get_data(as_text=True)
    assert "Kept" in raw and "Removed" not in raw


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
    for event in _events(plan_calendar(plan, "Mars/Olympus_Mons", THREE)):
        assert str(event.decoded("DTSTART").tzinfo) == "America/Chicago"
