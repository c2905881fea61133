"""The care rules as behaviour that a wrong alert or a wrong figure would break.

Every aggregate runs with two patients whose histories differ, so a query that
forgot its patient filter gives a visibly wrong answer; the clock is frozen at a
chosen instant (tests/clock.py), so the answers do not depend on the day or the
machine's time zone the suite runs in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care import plans as plan_service
from portal.care.alerts import (
    AlertError,
    open_alert,
    open_alert_count,
    open_alerts_query,
    resolve_alert,
    resolved_alerts_query,
    scan_missed_checkins,
    worsening,
)
from portal.care.checkins import (
    CheckInClosed,
    outcome_for_week,
    patient_today,
    save_checkin,
    save_weekly_outcome,
    week_start_for,
)
from portal.care.models import Alert, AlertKind, CheckIn, ItemLog, PlanItem, PlanStatus, WeeklyOutcome
from portal.care.progress import (
    _due_count,
    adherence_by_patient,
    chart_data_for,
    chart_days,
    checkin_series,
    item_adherence,
    peg_series,
    progress_for,
    streaks,
    summary,
    weekly_adherence,
)
from portal.care.red_flags import RED_FLAG_FIELDS, RED_FLAGS
from portal.care.today import NotDueToday, set_done, todays_plan
from portal.errors import BadInput
from portal.mail import OutboundEmail
from tests.clock import care_clock  # noqa: F401  (the fixture, used below)
from tests.plan_factories import end_plan_on, schedule_from_start
from tests.test_checkins import make_plan

pytestmark = pytest.mark.usefixtures("care_clock")

CALM = {"pain": 2, "stiffness": 2}


def add_checkins(db, patient, pains_by_offset: dict[int, int], today: date | None = None, **fields) -> None:
    today = today or patient_today(patient)
    for offset, pain in pains_by_offset.items():
        db.session.add(
            CheckIn(patient_id=patient.id, day=today - timedelta(days=offset), pain=pain, stiffness=pain, **fields)
        )
    db.session.commit()


def emails_to(db, address: str) -> list[OutboundEmail]:
    return db.session.scalars(db.select(OutboundEmail).where(OutboundEmail.to_address == address)).all()


# --- two patients in every aggregate --------------------------------------------------


def test_worsening_compares_each_patients_own_checkins(db, two_patients):
    rising, easing = two_patients
    today = patient_today(rising)
    add_checkins(db, rising, {0: 6, 1: 6, 2: 6} | {o: 4 for o in range(3, 10)})
    add_checkins(db, easing, {0: 1, 1: 1, 2: 1} | {o: 9 for o in range(3, 10)})
    assert worsening(rising.id, today) == (6.0, 4.0)
    assert worsening(easing.id, today) is None


def test_streaks_count_each_patients_own_days(db, two_patients):
    recent, earlier = two_patients
    today = patient_today(recent)
    add_checkins(db, recent, {0: 3, 1: 3, 2: 3})
    add_checkins(db, earlier, {o: 3 for o in range(4, 11)})
    assert streaks(recent.id, today) == (3, 3)
    assert streaks(earlier.id, today) == (0, 7)


def test_summary_and_series_are_per_patient(db, two_patients):
    first, second = two_patients
    today = patient_today(first)
    add_checkins(db, first, {0: 8, 1: 6}, spasm_episodes=2)
    add_checkins(db, second, {0: 1, 3: 1, 4: 1}, spasm_episodes=0, rf_walking=True)
    start = today - timedelta(days=29)
    a, b = summary(first.id, start, today), summary(second.id, start, today)
    assert (a.checkins, a.pain_avg, a.spasms_total, a.red_flag_days) == (2, 7.0, 4, 0)
    assert (b.checkins, b.pain_avg, b.spasms_total, b.red_flag_days) == (3, 1.0, 0, 3)
    assert [row.pain for row in checkin_series(first.id, start, today)] == [6, 8]
    assert [row.day for row in checkin_series(second.id, start, today)] == [
        today - timedelta(days=d) for d in (4, 3, 0)
    ]


def test_weekly_outcome_belongs_to_its_patient(db, two_patients):
    first, second = two_patients
    week = week_start_for(patient_today(first))
    save_weekly_outcome(first, {"pain_average": 7, "enjoyment_interference": 6, "activity_interference": 5})
    db.session.commit()
    outcome, created = save_weekly_outcome(
        second, {"pain_average": 2, "enjoyment_interference": 1, "activity_interference": 0}
    )
    db.session.commit()
    assert created and outcome.patient_id == second.id
    assert outcome_for_week(first.id, week).pain_average == 7
    assert outcome_for_week(second.id, week).pain_average == 2
    assert [row.pain_average for row in peg_series(first.id, patient_today(first))] == [7]
    assert db.session.scalar(db.select(db.func.count(WeeklyOutcome.id))) == 2


def test_a_red_flag_update_touches_only_the_patients_own_alert(db, two_patients):
    first, second = two_patients
    today = patient_today(first)
    mine = save_checkin(first, today, CALM | {"rf_numbness": True}).checkin
    db.session.commit()
    save_checkin(second, today, CALM | {"rf_walking": True})
    db.session.commit()
    theirs = save_checkin(second, today, CALM | {"rf_walking": True, "rf_fall_injury": True}).checkin
    db.session.commit()
    alerts = {a.patient_id: a for a in db.session.scalars(db.select(Alert)).all()}
    assert alerts[first.id].checkin_id == mine.id
    assert "numbness" in alerts[first.id].summary and "fall" not in alerts[first.id].summary
    assert alerts[second.id].checkin_id == theirs.id
    assert "fall" in alerts[second.id].summary


def test_adherence_is_per_patient(db, coach, two_patients):
    busy, idle = two_patients
    today = patient_today(busy)
    start = today - timedelta(days=6)
    busy_plan = make_plan(db, busy, coach, n_items=1)
    make_plan(db, idle, coach, n_items=2)
    for offset in range(4):
        db.session.add(
            ItemLog(
                plan_item_id=busy_plan.items[0].id, patient_id=busy.id, day=today - timedelta(days=offset), done=True
            )
        )
    db.session.commit()
    # Today is in progress: done by one (so owed), not yet by the other (so not held against them).
    assert adherence_by_patient([busy.id, idle.id], start, today) == {busy.id: (7, 4), idle.id: (12, 0)}
    assert [(a.due, a.done) for a in item_adherence(busy.id, start, today)] == [(7, 4)]
    assert [(a.due, a.done, a.percent) for a in item_adherence(idle.id, start, today)] == [(6, 0, 0), (6, 0, 0)]
    assert sum(w["due"] for w in weekly_adherence(idle.id, today, weeks=2)) > 0
    assert sum(w["done"] for w in weekly_adherence(idle.id, today, weeks=2)) == 0


def test_progress_page_figures_are_the_patients_own(db, coach, two_patients):
    first, second = two_patients
    today = patient_today(first)
    make_plan(db, first, coach, n_items=1)
    add_checkins(db, first, {0: 5, 1: 5})
    add_checkins(db, second, {o: 9 for o in range(0, 20)})
    progress = progress_for(first.id, today)
    assert (progress.streak, progress.longest_streak, progress.summary.checkins) == (2, 2, 2)
    assert [entry.item.plan.patient_id for entry in progress.items] == [first.id]


# --- the coach's red-flag email ---------------------------------------------------------


def test_red_flag_email_is_sent_once_per_open_alert(db, patient, coach):
    today = patient_today(patient)
    save_checkin(patient, today, CALM | {"rf_bladder_bowel": True})
    db.session.commit()
    save_checkin(patient, today, CALM | {"rf_bladder_bowel": True, "rf_walking": True})
    db.session.commit()
    [mail] = emails_to(db, coach.email)
    assert "Emergency alert" in mail.subject
    assert "bladder" not in mail.body  # no health details in an email


def test_worsening_and_missed_alerts_send_no_email(db, coach, two_patients):
    rising, quiet = two_patients
    today = patient_today(rising)
    add_checkins(db, rising, {1: 7, 2: 7} | {o: 3 for o in range(3, 10)})
    result = save_checkin(rising, today, {"pain": 7, "stiffness": 7})
    db.session.commit()
    assert [a.kind for a in result.alerts] == [AlertKind.PAIN_WORSENING]
    make_plan(db, quiet, coach, n_items=1, start=today - timedelta(days=30))
    assert scan_missed_checkins().opened == 1
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Alert.id))) == 2
    assert emails_to(db, coach.email) == []


@pytest.mark.parametrize(
    ("coach_active", "notifications", "emailed"),
    [(True, True, 1), (True, False, 0), (False, True, 0), (False, False, 0)],
)
def test_red_flag_email_follows_the_coachs_preference_and_status(db, make_user, coach_active, notifications, emailed):
    coach = make_user(Role.COACH, email_notifications=notifications)
    patient = make_user(Role.PATIENT, coach=coach)
    coach.is_active = coach_active  # deactivated after the patient was assigned
    db.session.commit()
    save_checkin(patient, patient_today(patient), CALM | {"rf_fall_injury": True})
    db.session.commit()
    assert len(emails_to(db, coach.email)) == emailed
    # The urgent alert opens either way: the inbox is the source of truth.
    assert db.session.scalar(db.select(Alert.kind).where(Alert.patient_id == patient.id)) == AlertKind.RED_FLAG


def test_red_flag_with_no_coach_opens_the_alert_and_emails_nobody(db, make_user):
    coach = make_user(Role.COACH)
    patient = make_user(Role.PATIENT, coach=coach)
    patient.coach_id = None
    db.session.commit()
    result = save_checkin(patient, patient_today(patient), CALM | {"rf_numbness": True})
    db.session.commit()
    assert [a.kind for a in result.alerts] == [AlertKind.RED_FLAG]
    assert db.session.scalar(db.select(db.func.count(OutboundEmail.id))) == 0


# --- the missed check-in scan ----------------------------------------------------------


def test_a_deactivated_patient_gets_no_missed_checkin_alert(db, coach, two_patients):
    active, gone = two_patients
    for p in (active, gone):
        make_plan(db, p, coach, n_items=1)
    gone.is_active = False
    db.session.commit()
    result = scan_missed_checkins()
    db.session.commit()
    assert (result.checked, result.opened) == (1, 1)
    assert db.session.scalars(db.select(Alert.patient_id)).all() == [active.id]


@pytest.mark.parametrize("far_zone", ["Asia/Tokyo", "Pacific/Auckland"])
@pytest.mark.parametrize("far_first", [True, False])
def test_the_scan_judges_each_patient_by_their_own_today(db, coach, make_user, far_zone, far_first):
    # 03:00 UTC on Saturday 21 March: Friday 22:00 in Chicago, already Saturday afternoon far east.
    with time_machine.travel(datetime(2026, 3, 21, 3, 0, tzinfo=UTC), tick=False):
        made = {}
        for zone in [far_zone, "America/Chicago"] if far_first else ["America/Chicago", far_zone]:
            made[zone] = make_user(Role.PATIENT, coach=coach, timezone=zone)
        chicago, far = made["America/Chicago"], made[far_zone]
        assert (patient_today(chicago), patient_today(far)) == (date(2026, 3, 20), date(2026, 3, 21))
        for p in (chicago, far):
            make_plan(db, p, coach, n_items=1, start=date(2026, 2, 1))
            # Last check-in on Tuesday 17 March: three whole days ago in Chicago, four far east.
            db.session.add(CheckIn(patient_id=p.id, day=date(2026, 3, 17), pain=3, stiffness=3))
        db.session.commit()
        assert scan_missed_checkins().opened == 1
        db.session.commit()
        assert db.session.scalars(db.select(Alert.patient_id)).all() == [far.id]


# --- red flags by kind ---------------------------------------------------------------


@pytest.mark.parametrize("flag", RED_FLAGS, ids=[flag.field for flag in RED_FLAGS])
def test_each_red_flag_question_counts_and_alerts(db, patient, flag):
    today = patient_today(patient)
    add_checkins(db, patient, {1: 3, 2: 3})
    result = save_checkin(patient, today, CALM | {flag.field: True})
    db.session.commit()
    assert [a.kind for a in result.alerts] == [AlertKind.RED_FLAG]
    assert str(flag.label) in result.alerts[0].summary
    others = [str(f.label) for f in RED_FLAGS if f is not flag]
    assert not any(label in result.alerts[0].summary for label in others)
    assert summary(patient.id, today - timedelta(days=6), today).red_flag_days == 1


def test_red_flag_days_count_days_not_answers(db, patient):
    today = patient_today(patient)
    add_checkins(db, patient, {0: 5}, **dict.fromkeys(RED_FLAG_FIELDS, True))
    add_checkins(db, patient, {1: 5, 2: 5})
    assert summary(patient.id, today - timedelta(days=6), today).red_flag_days == 1


# --- weekday arithmetic ------------------------------------------------------------------


def brute_due(weekdays: str, plan_start: date, plan_end: date | None, start: date, end: date) -> int:
    """Day by day, the obvious way: the oracle for the weekday arithmetic."""
    day, count = start, 0
    while day <= end:
        if plan_start <= day and (plan_end is None or day <= plan_end) and str(day.weekday()) in weekdays:
            count += 1
        day += timedelta(days=1)
    return count


MONDAY = date(2026, 3, 16)


@pytest.mark.parametrize("first_weekday", range(7), ids=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
def test_due_days_match_a_day_by_day_count_from_every_weekday(first_weekday):
    start = MONDAY + timedelta(days=first_weekday)
    for weekdays in ("024", "6", "0", "15", "0123456", "56"):
        for length in range(1, 16):
            end = start + timedelta(days=length - 1)
            for plan_start, plan_end in ((start - timedelta(days=30), None), (start + timedelta(days=2), end)):
                expected = brute_due(weekdays, plan_start, plan_end, start, end)
                assert _due_count(weekdays, plan_start, plan_end, start, end) == expected, (weekdays, start, end)


def test_mon_wed_fri_item_is_due_twice_from_monday_to_wednesday():
    assert _due_count("024", MONDAY - timedelta(days=7), None, MONDAY, MONDAY + timedelta(days=2)) == 2


@pytest.mark.parametrize("first_weekday", range(7), ids=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
def test_item_adherence_window_starting_on_each_weekday(db, patient, coach, first_weekday):
    # Windows of days that are over (two weeks back): each counts every day it asked for.
    start = MONDAY - timedelta(days=14) + timedelta(days=first_weekday)
    end = start + timedelta(days=9)
    plan = make_plan(db, patient, coach, n_items=1, start=MONDAY - timedelta(days=28), weekdays="024")
    item = plan.items[0]
    done_days = [start + timedelta(days=d) for d in range(10) if (start + timedelta(days=d)).weekday() in (0, 2)]
    for day in done_days:
        db.session.add(ItemLog(plan_item_id=item.id, patient_id=patient.id, day=day, done=True))
    db.session.commit()
    [row] = item_adherence(patient.id, start, end)
    assert (row.due, row.done) == (brute_due("024", plan.start_date, None, start, end), len(done_days))


@pytest.mark.parametrize("zone", ["America/Chicago", "Asia/Tokyo", "Pacific/Auckland"])
def test_todays_items_follow_the_patients_local_weekday(db, coach, make_user, zone):
    # Friday 20 March 23:30 UTC: Friday in Chicago, Saturday in Tokyo and Auckland.
    with time_machine.travel(datetime(2026, 3, 20, 23, 30, tzinfo=UTC), tick=False):
        patient = make_user(Role.PATIENT, coach=coach, timezone=zone)
        make_plan(db, patient, coach, n_items=1, start=date(2026, 3, 1), weekdays="4")  # Fridays only
        local_friday = patient_today(patient).weekday() == 4
        assert local_friday == (zone == "America/Chicago")
        assert todays_plan(patient).total == (1 if local_friday else 0)
        weeks = weekly_adherence(patient.id, patient_today(patient), weeks=1)
        assert weeks[0]["week_start"] == date(2026, 3, 16)
        # This week's Friday has come in every zone: over in Tokyo and Auckland (owed), in
        # progress in Chicago (not done yet, so not owed yet).
        assert weeks[0]["due"] == (0 if local_friday else 1)


# --- an item never done -------------------------------------------------------------------


def test_an_item_never_done_has_zero_adherence(db, patient, coach):
    today = patient_today(patient)
    plan = make_plan(db, patient, coach, n_items=2, start=today - timedelta(days=20))
    done_item, never = plan.items
    db.session.add(ItemLog(plan_item_id=done_item.id, patient_id=patient.id, day=today, done=True))
    db.session.commit()
    rows = {row.item.id: row for row in item_adherence(patient.id, today - timedelta(days=6), today)}
    # Six days over, and today (in progress) only for the item done today.
    assert (rows[never.id].due, rows[never.id].done, rows[never.id].percent) == (6, 0, 0)
    assert (rows[done_item.id].due, rows[done_item.id].done, rows[done_item.id].percent) == (7, 1, 14)
    assert adherence_by_patient([patient.id], today - timedelta(days=6), today) == {patient.id: (13, 1)}
    assert db.session.get(PlanItem, never.id).is_active


# --- exact figures: every bound, average and cap of the progress page ---------------------


def test_summary_figures_and_window_bounds_are_exact(db, two_patients):
    patient, other = two_patients
    today = patient_today(patient)
    start, end = today - timedelta(days=13), today
    rows = {
        # offset from today: (pain, stiffness, spasms, red-flag answers)
        14: (10, 10, 50, {"rf_numbness": True}),  # the day before the window
        13: (8, 5, 1, {}),  # first day: first week
        7: (6, 5, 2, {"rf_walking": True}),  # start + 6: last day of the first week
        6: (3, 2, 3, {}),  # end - 6: first day of the last week
        3: (2, 1, 0, {}),
        0: (2, 1, 4, {"rf_fall_injury": True, "rf_bladder_bowel": True}),  # two answers, one day
        -1: (10, 10, 50, {"rf_numbness": True}),  # tomorrow
    }
    for offset, (pain, stiffness, spasms, flags) in rows.items():
        db.session.add(
            CheckIn(
                patient_id=patient.id,
                day=today - timedelta(days=offset),
                pain=pain,
                stiffness=stiffness,
                spasm_episodes=spasms,
                **flags,
            )
        )
    add_checkins(db, other, {o: 9 for o in range(0, 14)}, spasm_episodes=7, rf_numbness=True)
    result = summary(patient.id, start, end)
    assert result.days == 14
    assert result.checkins == 5
    assert result.pain_avg == 4.2  # (8 + 6 + 3 + 2 + 2) / 5
    assert result.stiffness_avg == 2.8  # (5 + 5 + 2 + 1 + 1) / 5
    assert result.spasms_total == 10
    assert result.pain_first_week == 7.0  # days 1-7: 8 and 6
    assert result.pain_last_week == 2.3  # days 8-14: 3, 2, 2
    assert result.pain_change == -4.7
    assert result.red_flag_days == 2


def test_summary_of_an_empty_window_is_zeros_and_blanks(db, two_patients):
    patient, other = two_patients
    today = patient_today(patient)
    add_checkins(db, other, {0: 5}, spasm_episodes=3, rf_walking=True)
    result = summary(patient.id, today - timedelta(days=6), today)
    assert (result.days, result.checkins, result.spasms_total, result.red_flag_days) == (7, 0, 0, 0)
    assert (result.pain_avg, result.stiffness_avg, result.pain_first_week, result.pain_last_week) == (None,) * 4
    assert result.pain_change is None


def test_pain_change_needs_both_weeks(db, patient):
    today = patient_today(patient)
    add_checkins(db, patient, {0: 4})
    # A 30-day window with check-ins only in its last week: no first-week average, no change.
    result = summary(patient.id, today - timedelta(days=29), today)
    assert (result.pain_first_week, result.pain_last_week, result.pain_change) == (None, 4.0, None)


def _brute_force_weeks(plan_start: date, weekdays: list[str], done_days: dict[int, set], today: date, weeks: int):
    """Day by day: what each Monday-based week owes and got (a day's sessions count only on a day due)."""
    first_monday = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    expected = []
    for i in range(weeks):
        monday = first_monday + timedelta(weeks=i)
        due = done = 0
        for index, days in enumerate(weekdays):
            week_days = [monday + timedelta(days=d) for d in range(7) if monday + timedelta(days=d) <= today]
            item_due = sum(1 for d in week_days if d >= plan_start and str(d.weekday()) in days)
            item_done = sum(
                1 for d in week_days if d in done_days[index] and d >= plan_start and str(d.weekday()) in days
            )
            due += item_due
            done += item_done
        expected.append((monday, due, done, round(100 * done / due) if due else None))
    return expected


def test_weekly_adherence_matches_a_day_by_day_count(db, coach, two_patients):
    patient, other = two_patients
    today = patient_today(patient)
    plan_start = today - timedelta(days=16)
    plan = make_plan(db, patient, coach, n_items=2, start=plan_start)
    plan.items[0].weekdays = "024"
    plan.items[1].weekdays = "13"
    schedule_from_start(plan)
    other_plan = make_plan(db, other, coach, n_items=1)
    # Item 0: every day of the plan logged (its non-due days must not lift a week above 100 %);
    # item 1: every other day; one not-done log and one log before the window that must not count.
    done_days = {
        0: {plan_start + timedelta(days=d) for d in range(17)},
        1: {plan_start + timedelta(days=d) for d in range(0, 17, 2)},
    }
    for index, days in done_days.items():
        for day in days:
            db.session.add(ItemLog(plan_item_id=plan.items[index].id, patient_id=patient.id, day=day))
    db.session.add(
        ItemLog(
            plan_item_id=plan.items[1].id,
            patient_id=patient.id,
            day=plan_start + timedelta(days=1),
            done=False,
            sessions_done=0,
        )
    )
    db.session.add(ItemLog(plan_item_id=plan.items[0].id, patient_id=patient.id, day=today - timedelta(weeks=10)))
    for offset in range(20):
        db.session.add(
            ItemLog(plan_item_id=other_plan.items[0].id, patient_id=other.id, day=today - timedelta(days=offset))
        )
    db.session.commit()
    weeks = 4
    got = [(w["week_start"], w["due"], w["done"], w["percent"]) for w in weekly_adherence(patient.id, today, weeks)]
    expected = _brute_force_weeks(plan_start, ["024", "13"], done_days, today, weeks)
    # The chart starts at the plan's start: the leading weeks that owed nothing are not listed.
    while len(expected) > 1 and expected[0][1:] == (0, 0, None):
        expected.pop(0)
    assert got == expected
    # The first week drawn holds the first due day on or after the plan's start (a weekend start may push it a week).
    first_due = next(plan_start + timedelta(days=d) for d in range(7) if (plan_start + timedelta(days=d)).weekday() < 5)
    assert got[0][0] <= first_due < got[0][0] + timedelta(days=7)
    # Twelve weeks asked for: the ones from the first due week (as above), each starting on a Monday.
    twelve = weekly_adherence(patient.id, today)
    assert [w["week_start"].weekday() for w in twelve] == [0] * len(twelve)
    assert twelve[0]["week_start"] == got[0][0] and len(twelve) == len(got)


def test_weekly_adherence_keeps_the_days_of_removed_items_and_ended_plans(db, coach, patient):
    """A removed item and an ended plan stop being due on the day of the change, and every
    earlier day keeps what was due then."""
    today = patient_today(patient)
    plan = make_plan(db, patient, coach, n_items=2)
    for item in plan.items:  # done today, so today (in progress) owes them too
        db.session.add(ItemLog(plan_item_id=item.id, patient_id=patient.id, day=today, sessions_done=1))
    db.session.commit()
    days_over = 7 + today.weekday()
    assert sum(w["due"] for w in weekly_adherence(patient.id, today, weeks=2)) == 2 * days_over + 2
    plan_service.remove_item(plan, plan.items[1], coach)
    db.session.commit()
    assert sum(w["due"] for w in weekly_adherence(patient.id, today, weeks=2)) == 2 * days_over + 1
    plan_service.end_plan(plan, coach)
    db.session.commit()
    assert sum(w["due"] for w in weekly_adherence(patient.id, today, weeks=2)) == 2 * days_over


def test_weekly_adherence_stops_at_the_plans_end(db, coach, patient):
    today = patient_today(patient)
    plan = make_plan(db, patient, coach, n_items=1)
    end_plan_on(plan, today - timedelta(days=today.weekday()))  # ended this Monday: due until Sunday
    weeks = weekly_adherence(patient.id, today, weeks=2)
    assert [(w["due"], w["percent"]) for w in weeks] == [(7, 0), (0, None)]
    end_plan_on(plan, today - timedelta(weeks=3))
    # Nothing owed in either week: one empty week stands for the window (weeks before anything was due are not drawn).
    assert [w["due"] for w in weekly_adherence(patient.id, today, weeks=2)] == [0]


def test_progress_chart_json_is_exact(db, coach, two_patients):
    patient, other = two_patients
    today = patient_today(patient)
    plan = make_plan(db, patient, coach, n_items=1, start=today - timedelta(days=today.weekday()))
    db.session.add(ItemLog(plan_item_id=plan.items[0].id, patient_id=patient.id, day=plan.start_date))
    db.session.add(
        CheckIn(patient_id=patient.id, day=today - timedelta(days=29), pain=7, stiffness=6, spasm_episodes=2)
    )
    db.session.add(CheckIn(patient_id=patient.id, day=today, pain=3, stiffness=2, spasm_episodes=1))
    db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=30), pain=9, stiffness=9))
    add_checkins(db, other, {o: 8 for o in range(1, 29)})
    monday = week_start_for(today)
    db.session.add(
        WeeklyOutcome(
            patient_id=patient.id,
            week_start=monday - timedelta(weeks=1),
            pain_average=5,
            enjoyment_interference=4,
            activity_interference=6,
        )
    )
    db.session.commit()
    progress = progress_for(patient.id, today)
    data = progress.chart_data()
    assert data["days"] == 30
    labels = data["daily"]["labels"]
    assert labels == [(today - timedelta(days=29 - i)).isoformat() for i in range(30)]
    assert data["daily"]["pain"] == [7] + [None] * 28 + [3]
    assert data["daily"]["stiffness"] == [6] + [None] * 28 + [2]
    assert data["daily"]["spasms"] == [2] + [None] * 28 + [1]
    assert data["adherence"]["labels"][-1] == monday.isoformat()
    # The plan started this week: the adherence chart starts there, not 11 empty weeks earlier.
    assert len(data["adherence"]["labels"]) == 1
    # Done on Monday only; today is in progress (owed only if done: so only when today is Monday).
    owed = today.weekday() or 1
    assert data["adherence"]["percent"] == [round(100 / owed)]
    assert data["peg"] == {"labels": [(monday - timedelta(weeks=1)).isoformat()], "score": [5.0]}
    assert chart_data_for(patient.id, today) == data
    assert chart_data_for(patient.id, today, days=90)["daily"]["pain"][-30:] == data["daily"]["pain"]
    assert (progress.days, progress.start, progress.end) == (30, today - timedelta(days=29), today)
    assert [(a.due, a.done) for a in progress.items] == [(owed, 1)]
    assert (progress.summary.checkins, progress.streak, progress.longest_streak) == (2, 1, 2)
    assert [row.day for row in progress.series] == [today - timedelta(days=29), today]
    assert [row[0] for row in progress.peg] == [monday - timedelta(weeks=1)]


def test_progress_items_cover_the_last_four_weeks(db, coach, patient):
    today = patient_today(patient)
    plan = make_plan(db, patient, coach, n_items=1, start=today - timedelta(days=60))
    for offset in (0, 27, 28):
        db.session.add(
            ItemLog(plan_item_id=plan.items[0].id, patient_id=patient.id, day=today - timedelta(days=offset))
        )
    db.session.commit()
    assert [(a.due, a.done, a.percent) for a in progress_for(patient.id, today).items] == [(28, 2, 7)]


def test_chart_days_accepts_only_the_offered_ranges():
    assert chart_days(None) == 30
    assert chart_days("30") == 30
    assert chart_days("90") == 90
    for raw in ("7", "", "-30", "30.0", "abc", "900"):
        with pytest.raises(BadInput, match="30 or 90"):
            chart_days(raw)


# --- the alert lifecycle, exactly ---------------------------------------------------------


def test_the_coachs_red_flag_email_says_what_to_do_and_nothing_clinical(db, patient, coach):
    open_alert(patient, AlertKind.RED_FLAG, "Reported: numbness")
    (email,) = emails_to(db, coach.email)
    assert email.subject == "Urgent alert waiting in Holistiq Coach"
    assert email.body == (
        "One of your patients reported a red-flag symptom in today's check-in.\n"
        "Please sign in to Holistiq Coach and open Alerts to review it."
    )
    assert "numbness" not in email.body


def test_the_coachs_red_flag_email_speaks_the_coachs_language(db, make_user):
    coach = make_user(Role.COACH, language="es")
    patient = make_user(Role.PATIENT, coach=coach, language="en")
    open_alert(patient, AlertKind.RED_FLAG, "Reported: numbness")
    (email,) = emails_to(db, coach.email)
    assert email.subject != "Urgent alert waiting in Holistiq Coach"
    assert "Holistiq Coach" in email.subject


def test_resolving_records_who_when_and_the_note_once(db, patient, coach):
    alert, _created = open_alert(patient, AlertKind.PAIN_WORSENING, "Pain up")
    db.session.commit()
    resolve_alert(alert, coach, "Called; ice and rest. " + "x" * 3000)
    db.session.commit()
    db.session.refresh(alert)
    assert alert.resolved_by_id == coach.id
    assert alert.resolved_at is not None
    assert abs(alert.resolved_at.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=1)
    assert alert.note.startswith("Called; ice and rest. x") and len(alert.note) == 2000
    assert alert.open_key is None
    (event,) = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "alert.resolve")).all()
    assert (event.actor_id, event.patient_id, event.target_id, event.target_type) == (
        coach.id,
        patient.id,
        alert.id,
        "Alert",
    )
    with pytest.raises(AlertError, match="already resolved"):
        resolve_alert(alert, coach, "again")
    db.session.refresh(alert)
    assert alert.note.startswith("Called")
    # A new alert of the same kind can open once the first is resolved.
    _again, created = open_alert(patient, AlertKind.PAIN_WORSENING, "Pain up again")
    assert created


def test_alert_queries_and_badge_cover_only_the_coachs_patients(db, make_user, coach, two_patients):
    first, second = two_patients
    other_coach = make_user(Role.COACH)
    stranger = make_user(Role.PATIENT, coach=other_coach)
    a1, _ = open_alert(first, AlertKind.MISSED_CHECKINS, "missed", notify=False)
    a2, _ = open_alert(second, AlertKind.RED_FLAG, "red", notify=False)
    a3, _ = open_alert(first, AlertKind.PAIN_WORSENING, "worse", notify=False)
    open_alert(stranger, AlertKind.RED_FLAG, "stranger", notify=False)
    db.session.commit()
    assert open_alert_count(coach) == 3
    assert open_alert_count(other_coach) == 1
    assert open_alert_count(first) == 0
    assert open_alert_count(make_user(Role.ADMIN)) == 0
    assert [a.id for a in db.session.scalars(open_alerts_query(coach))][0] == a2.id  # urgent first
    resolve_alert(a1, coach, "first")
    db.session.commit()
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=1)):
        resolve_alert(a3, coach, "second")
        db.session.commit()
    assert open_alert_count(coach) == 1
    assert [a.id for a in db.session.scalars(resolved_alerts_query(coach))] == [a3.id, a1.id]
    assert list(db.session.scalars(resolved_alerts_query(other_coach))) == []
    assert {a.id for a in db.session.scalars(open_alerts_query(coach))} == {a2.id}


def test_the_missed_checkin_scan_counts_and_words_exactly(db, make_user, coach):
    today = patient_today(make_user(Role.PATIENT, coach=coach))
    never = make_user(Role.PATIENT, coach=coach)
    lapsed = make_user(Role.PATIENT, coach=coach)
    current = make_user(Role.PATIENT, coach=coach)
    ended = make_user(Role.PATIENT, coach=coach)
    plans = [
        make_plan(db, person, coach, n_items=1, start=today - timedelta(days=10))
        for person in (never, lapsed, current, ended)
    ]
    plans[-1].status = PlanStatus.ENDED
    lapsed_day = today - timedelta(days=4)
    add_checkins(db, lapsed, {4: 3, 6: 3})
    add_checkins(db, current, {3: 3})
    result = scan_missed_checkins()
    assert (result.checked, result.opened) == (3, 2)
    alerts = {a.patient_id: a for a in db.session.scalars(db.select(Alert))}
    assert set(alerts) == {never.id, lapsed.id}
    assert alerts[never.id].summary == "No check-in for 3 days or more (since the plan started)."
    assert alerts[lapsed.id].summary == f"No check-in for 3 days or more (since {lapsed_day:%b} {lapsed_day.day})."
    assert alerts[never.id].kind == AlertKind.MISSED_CHECKINS
    assert scan_missed_checkins().opened == 0


# --- saving a check-in and ticking an item, exactly ----------------------------------------


def item_logs(db, patient) -> list[tuple]:
    return [
        (log.plan_item_id, log.day, log.done, log.note)
        for log in db.session.scalars(
            db.select(ItemLog).where(ItemLog.patient_id == patient.id).order_by(ItemLog.plan_item_id, ItemLog.day)
        )
    ]


def test_a_saved_checkin_keeps_every_answer_and_updates_in_place(db, coach, two_patients):
    patient, other = two_patients
    today = patient_today(patient)
    add_checkins(db, other, {0: 9})
    values = {
        "pain": 4,
        "stiffness": 3,
        "spasm_episodes": 2,
        "sleep_quality": 4,
        "water_glasses": 6,
        "notes": "Walked the dog.",
    }
    first = save_checkin(patient, today, values)
    db.session.commit()
    assert first.created is True and first.alerts == []
    saved = first.checkin
    assert (saved.patient_id, saved.day) == (patient.id, today)
    assert {name: getattr(saved, name) for name in values} == values
    assert not any(getattr(saved, name) for name in RED_FLAG_FIELDS)
    assert saved.created_at is not None and saved.updated_at >= saved.created_at
    created_at = saved.created_at
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5)):
        second = save_checkin(patient, today, {"pain": 6, "stiffness": 5, "rf_walking": True})
        db.session.commit()
    assert second.created is False and second.checkin.id == saved.id
    assert (second.checkin.pain, second.checkin.stiffness, second.checkin.notes) == (6, 5, "Walked the dog.")
    assert second.checkin.rf_walking is True
    assert second.checkin.created_at == created_at and second.checkin.updated_at > created_at
    assert [a.kind for a in second.alerts] == [AlertKind.RED_FLAG]
    assert db.session.scalar(db.select(func.count(CheckIn.id)).where(CheckIn.patient_id == patient.id)) == 1
    assert db.session.scalar(db.select(CheckIn.pain).where(CheckIn.patient_id == other.id)) == 9


def test_a_checkin_for_another_day_is_refused_and_writes_nothing(db, patient):
    today = patient_today(patient)
    for day in (today - timedelta(days=1), today + timedelta(days=1)):
        with pytest.raises(CheckInClosed, match="earlier days can no longer be changed"):
            save_checkin(patient, day, CALM)
    assert db.session.scalar(db.select(func.count(CheckIn.id))) == 0


def test_checkin_ticks_record_only_changed_due_items(db, coach, patient):
    today = patient_today(patient)
    plan = make_plan(db, patient, coach, n_items=3)
    first, second, third = (item.id for item in plan.items)
    save_checkin(patient, today, CALM)  # no ticks given: logs left alone
    assert item_logs(db, patient) == []
    save_checkin(patient, today, CALM, items_done={first, second})
    db.session.commit()
    assert item_logs(db, patient) == [(first, today, True, ""), (second, today, True, "")]
    save_checkin(patient, today, CALM, items_done={second, third}, plan_today=todays_plan(patient, today))
    db.session.commit()
    assert item_logs(db, patient) == [(first, today, False, ""), (second, today, True, ""), (third, today, True, "")]
    save_checkin(patient, today, CALM)
    db.session.commit()
    assert len(item_logs(db, patient)) == 3


def test_set_done_marks_and_unmarks_one_row_for_the_day(db, coach, two_patients):
    patient, other = two_patients
    today = patient_today(patient)
    plan = make_plan(db, patient, coach, n_items=2)
    item, untouched = plan.items
    set_done(patient, item, True)  # the day defaults to the patient's today
    db.session.commit()
    assert item_logs(db, patient) == [(item.id, today, True, "")]
    set_done(patient, item, True, today)
    set_done(patient, item, False, today)
    db.session.commit()
    assert item_logs(db, patient) == [(item.id, today, False, "")]
    assert item_logs(db, other) == []
    assert [(e.plan_item.id, e.done) for e in todays_plan(patient, today).items] == [
        (item.id, False),
        (untouched.id, False),
    ]


def test_set_done_refuses_days_the_item_is_not_due(db, coach, patient):
    today = patient_today(patient)
    other_days = "".join(str(d) for d in range(7) if d != today.weekday())
    plan = make_plan(db, patient, coach, n_items=1, weekdays=other_days)
    with pytest.raises(NotDueToday, match="not on your plan for today"):
        set_done(patient, plan.items[0], True, today)
    # Every day is due, but the plan starts tomorrow: nothing to tick today yet.
    item = plan.items[0]
    item.weekdays = "0123456"
    plan.start_date = today + timedelta(days=1)
    db.session.commit()
    with pytest.raises(NotDueToday):
        set_done(patient, item, True, today)
    set_done(patient, item, True, today + timedelta(days=1))
    assert item_logs(db, patient) == [(item.id, today + timedelta(days=1), True, "")]
