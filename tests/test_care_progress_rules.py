"""Progress figures at the edges of their windows, exactly.

Plans that start on the window's last day or end on its first, items done twice a
day, logs and check-ins just outside a window, weekly checks at the 26-week bound,
and the page's query budget. Two patients' data wherever a query aggregates; the
clock is frozen (tests/clock.py).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.care.checkins import patient_today, week_start_for
from portal.care.models import CheckIn, ItemLog, WeeklyOutcome
from portal.care.progress import (
    adherence_by_patient,
    chart_data_for,
    chart_days,
    checkin_series,
    item_adherence,
    peg_series,
    progress_for,
    streaks,
    weekly_adherence,
)
from portal.errors import BadInput
from tests.clock import care_clock  # noqa: F401  (the fixture, used below)
from tests.conftest import count_queries
from tests.plan_factories import end_plan_on, schedule_from_start
from tests.test_checkins import make_plan

pytestmark = pytest.mark.usefixtures("care_clock")


def log(db, item, patient, day: date, sessions: int = 1) -> None:
    db.session.add(ItemLog(plan_item_id=item.id, patient_id=patient.id, day=day, sessions_done=sessions))


def due_done(rows) -> list[tuple[int, int]]:
    return [(row.due, row.done) for row in rows]


# --- which plans a window sees ---------------------------------------------------------


def test_a_plan_starting_on_the_windows_last_day_counts_that_day(db, coach, two_patients):
    patient, other = two_patients
    today = patient_today(patient)
    item = make_plan(db, patient, coach, n_items=1, start=today).items[0]
    make_plan(db, other, coach, n_items=1)
    log(db, item, patient, today)
    db.session.commit()
    week = (today - timedelta(days=6), today)
    assert due_done(item_adherence(patient.id, *week)) == [(1, 1)]
    # The other patient's today is in progress: not done yet, so not held against them.
    assert adherence_by_patient([patient.id, other.id], *week) == {patient.id: (1, 1), other.id: (6, 0)}
    assert due_done(progress_for(patient.id, today).items) == [(1, 1)]


def test_a_plan_ending_the_day_after_the_windows_first_day_counts_that_day(db, coach, two_patients):
    """A plan ended on a day is not due that day (what replaced it is), so ending it the day
    after the window's first day leaves that one day due."""
    patient, other = two_patients
    today = patient_today(patient)
    start = today - timedelta(days=6)
    plan = make_plan(db, patient, coach, n_items=1, start=today - timedelta(days=30))
    end_plan_on(plan, start + timedelta(days=1))
    make_plan(db, other, coach, n_items=1)
    log(db, plan.items[0], patient, start)
    log(db, plan.items[0], patient, start + timedelta(days=1))  # the day it ended: nothing was due
    db.session.commit()
    assert due_done(item_adherence(patient.id, start, today)) == [(1, 1)]
    # The other patient's today is in progress: not done yet, so not held against them.
    assert adherence_by_patient([patient.id, other.id], start, today) == {patient.id: (1, 1), other.id: (6, 0)}
    assert due_done(progress_for(patient.id, today).items) == [(28 - 6, 1)]


def test_progress_items_follow_the_plans_end(db, coach, patient):
    today = patient_today(patient)
    plan = make_plan(db, patient, coach, n_items=1, start=today - timedelta(days=60))
    end_plan_on(plan, today - timedelta(days=26))  # due on the first day of the four-week figure only
    assert due_done(progress_for(patient.id, today).items) == [(1, 0)]
    end_plan_on(plan, today - timedelta(days=40))  # ended before it: no line at all
    progress = progress_for(patient.id, today)
    assert progress.items == []
    assert sum(week["due"] for week in progress.weekly_adherence) > 0  # the 12 weeks still saw it


def test_items_are_listed_in_plan_order(db, coach, patient):
    today = patient_today(patient)
    plan = make_plan(db, patient, coach, n_items=3)
    first, second, third = plan.items
    first.position, second.position, third.position = 2, 0, 1
    db.session.commit()
    expected = [second.id, third.id, first.id]
    assert [row.item.id for row in item_adherence(patient.id, today - timedelta(days=6), today)] == expected
    assert [row.item.id for row in progress_for(patient.id, today).items] == expected


# --- items done more than once a day -------------------------------------------------------


def test_an_item_twice_a_day_owes_two_sessions_a_day(db, coach, two_patients):
    patient, other = two_patients
    today = patient_today(patient)
    monday = week_start_for(today)
    plan = make_plan(db, patient, coach, n_items=1, start=monday - timedelta(weeks=2))
    item = plan.items[0]
    item.times_per_day = 2
    schedule_from_start(plan)
    make_plan(db, other, coach, n_items=1)
    log(db, item, patient, today, sessions=2)
    log(db, item, patient, today - timedelta(days=1), sessions=1)
    db.session.commit()
    start = today - timedelta(days=6)
    assert due_done(item_adherence(patient.id, start, today)) == [(14, 3)]
    # The other patient's today is in progress: not done yet, so not held against them.
    assert adherence_by_patient([patient.id, other.id], start, today) == {patient.id: (14, 3), other.id: (6, 0)}
    weeks = weekly_adherence(patient.id, today, weeks=2)
    assert weeks[0]["due"] == 14
    assert weeks[1]["due"] == 2 * (today.weekday() + 1)


# --- what lies just outside a window ----------------------------------------------------------


def test_logs_after_the_window_do_not_count(db, coach, patient):
    today = patient_today(patient)
    item = make_plan(db, patient, coach, n_items=1).items[0]
    last_week_end = today - timedelta(days=7)
    log(db, item, patient, last_week_end)
    for offset in range(7):
        log(db, item, patient, today - timedelta(days=offset))
    db.session.commit()
    assert due_done(item_adherence(patient.id, last_week_end - timedelta(days=6), last_week_end)) == [(7, 1)]


def test_the_series_is_oldest_first_and_stops_at_the_windows_end(db, two_patients):
    patient, other = two_patients
    today = patient_today(patient)
    for offset in (2, 5, 0, 3):
        db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=offset), pain=offset, stiffness=1))
    db.session.add(CheckIn(patient_id=other.id, day=today - timedelta(days=4), pain=9, stiffness=1))
    db.session.commit()
    yesterday = today - timedelta(days=1)
    rows = checkin_series(patient.id, today - timedelta(days=6), yesterday)
    assert [(row.day, row.pain) for row in rows] == [(today - timedelta(days=d), d) for d in (5, 3, 2)]


def test_streaks_as_of_an_earlier_day_ignore_the_days_after(db, patient):
    today = patient_today(patient)
    for offset in (0, 4, 1, 3, 2, 6):  # stored out of order
        db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=offset), pain=2, stiffness=1))
    db.session.commit()
    assert streaks(patient.id, today) == (5, 5)
    assert streaks(patient.id, today - timedelta(days=2)) == (3, 3)
    assert streaks(patient.id, today - timedelta(days=5)) == (1, 1)


def test_weekly_checks_of_the_last_26_weeks_oldest_first(db, two_patients):
    patient, other = two_patients
    monday = date(2026, 3, 16)
    for weeks_back in (1, 26, 27, 3):
        db.session.add(
            WeeklyOutcome(
                patient_id=patient.id,
                week_start=monday - timedelta(weeks=weeks_back),
                pain_average=weeks_back % 11,
                enjoyment_interference=1,
                activity_interference=1,
            )
        )
    db.session.add(
        WeeklyOutcome(
            patient_id=other.id,
            week_start=monday - timedelta(weeks=2),
            pain_average=5,
            enjoyment_interference=5,
            activity_interference=5,
        )
    )
    db.session.commit()
    assert [row.week_start for row in peg_series(patient.id, monday)] == [
        monday - timedelta(weeks=w) for w in (26, 3, 1)
    ]


# --- the query budget ----------------------------------------------------------------------------


def test_the_progress_page_and_its_chart_data_keep_their_query_budget(db, coach, two_patients):
    patient, other = two_patients
    today = patient_today(patient)
    for person in (patient, other):
        plan = make_plan(db, person, coach, n_items=3)
        for offset in range(20):
            db.session.add(CheckIn(patient_id=person.id, day=today - timedelta(days=offset), pain=3, stiffness=2))
            log(db, plan.items[offset % 3], person, today - timedelta(days=offset))
    db.session.commit()
    patient_id = patient.id
    db.session.expire_all()
    with count_queries() as page:
        progress_for(patient_id, today)
    with count_queries() as charts:
        chart_data_for(patient_id, today)
    # Streaks, plan items and completions (each shared by both adherence figures), the series with
    # its summary, weekly checks; the charts need four statements.
    assert len(page) == 5
    assert len(charts) == 4


def test_a_chart_range_not_offered_says_which_are(db):
    with pytest.raises(BadInput, match=r"^Charts cover the last 30 or 90 days\.$"):
        chart_days("60")
