"""Plan items keep their history: a change applies from the patient's local day of the change.

A coach reschedules, re-doses, adds, removes and replaces on chosen days (the clock travels to
each); every figure afterwards counts each earlier day against what was in force then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine

from portal.care import plans as plan_service
from portal.care.dosing import Dose
from portal.care.models import ItemLog, PlanItemSchedule
from portal.care.pauses import pause_item, resume_item
from portal.care.progress import (
    adherence_and_pauses,
    adherence_by_patient,
    item_adherence,
    progress_for,
    weekly_adherence,
)
from portal.coaching.review import patient_summary, review_for
from portal.extensions import db
from tests.plan_factories import make_item, make_program

CHICAGO = ZoneInfo("America/Chicago")
MONDAY = date(2026, 3, 2)


@contextmanager
def on(day: date, hour: int = 12) -> Iterator[None]:
    """The clock at ``hour`` o'clock on the patient's (Chicago) ``day``."""
    with time_machine.travel(datetime.combine(day, time(hour), tzinfo=CHICAGO), tick=False):
        yield


def assign(patient, coach, titles: list[str], start: date, replaces=None, assigned_on: date | None = None):
    program = make_program(coach, [make_item(title=title) for title in titles])
    with on(assigned_on or start):
        plan = plan_service.assign_program(
            patient, program, coach, title="Back plan", goals="", start_date=start, replaces=replaces
        )
        db.session.commit()
    return plan


def log_every_day(patient, item, first: date, last: date, sessions: int = 1) -> None:
    day = first
    while day <= last:
        db.session.add(ItemLog(plan_item_id=item.id, patient_id=patient.id, day=day, sessions_done=sessions))
        day += timedelta(days=1)
    db.session.commit()


def redose(plan, item, coach, **changes) -> None:
    values = {**Dose.of(item, note_attr="coach_note").__dict__, **changes}
    plan_service.update_item(plan, item, Dose(**values), coach)
    db.session.commit()


def weeks_of(patient, today: date) -> list[tuple[date, int, int]]:
    return [(w["week_start"], w["due"], w["done"]) for w in weekly_adherence(patient.id, today, weeks=4)]


def test_a_reschedule_keeps_the_past_weeks_figures(patient, coach):
    start = MONDAY - timedelta(weeks=3)
    plan = assign(patient, coach, ["Pelvic tilt"], start)
    item = plan.items[0]
    log_every_day(patient, item, start, MONDAY + timedelta(days=6))
    before = weeks_of(patient, MONDAY - timedelta(days=1))
    assert [due for _w, due, _d in before] == [7, 7, 7]
    with on(MONDAY + timedelta(days=2)):  # Wednesday: weekdays only from today
        redose(plan, item, coach, weekdays="01234")
    after = weeks_of(patient, MONDAY + timedelta(days=6))
    assert after[:3] == before
    # This week: Monday and Tuesday daily, Wednesday to Friday as weekdays, no weekend.
    assert after[3] == (MONDAY, 5, 5)
    [row] = item_adherence(patient.id, start, MONDAY + timedelta(days=6))
    assert (row.due, row.done) == (26, 26)


def test_a_redose_counts_today_with_the_new_times_a_day_and_earlier_days_with_the_old(patient, coach):
    start = MONDAY - timedelta(weeks=1)
    plan = assign(patient, coach, ["Glute bridge"], start)
    item = plan.items[0]
    log_every_day(patient, item, start, MONDAY - timedelta(days=1))
    with on(MONDAY):
        redose(plan, item, coach, times_per_day=3)
        db.session.add(ItemLog(plan_item_id=item.id, patient_id=patient.id, day=MONDAY, sessions_done=2))
        db.session.commit()
        # Today (in progress) owes the two sessions done, both within its new three (the old
        # dose would have counted one).
        assert adherence_by_patient([patient.id], start, MONDAY) == {patient.id: (7 + 2, 7 + 2)}


def test_two_changes_on_one_day_leave_one_row_for_that_day(patient, coach):
    plan = assign(patient, coach, ["Cat-cow"], MONDAY - timedelta(weeks=1))
    item = plan.items[0]
    with on(MONDAY):
        redose(plan, item, coach, times_per_day=2)
        redose(plan, item, coach, times_per_day=3, weekdays="024")
    rows = db.session.scalars(
        db.select(PlanItemSchedule)
        .where(PlanItemSchedule.plan_item_id == item.id)
        .order_by(PlanItemSchedule.valid_from)
    ).all()
    assert [(r.valid_from, r.valid_to, r.times_per_day, r.weekdays) for r in rows] == [
        (MONDAY - timedelta(weeks=1), MONDAY, 1, "0123456"),
        (MONDAY, None, 3, "024"),
    ]


def test_a_note_alone_opens_no_new_row(patient, coach):
    plan = assign(patient, coach, ["Cat-cow"], MONDAY - timedelta(weeks=1))
    item = plan.items[0]
    with on(MONDAY):
        redose(plan, item, coach, note="Slowly.")
    assert db.session.scalar(db.select(db.func.count()).select_from(PlanItemSchedule)) == 1


def test_items_added_today_owe_nothing_until_done(patient, coach):
    start = MONDAY - timedelta(weeks=4)
    plan = assign(patient, coach, ["Pelvic tilt"], start)
    log_every_day(patient, plan.items[0], start, MONDAY - timedelta(days=1))
    week = (MONDAY - timedelta(days=6), MONDAY)
    with on(MONDAY, hour=8):
        assert adherence_by_patient([patient.id], *week) == {patient.id: (6, 6)}
        added, _skipped = plan_service.add_items(
            plan, [make_item(title="Bird dog"), make_item(title="Dead bug")], coach
        )
        db.session.commit()
        # Not 0 of 28 each: due from the day added, and today (in progress) only once done.
        figures = {row.item.library_item.title: (row.due, row.done) for row in item_adherence(patient.id, *week)}
        assert figures == {"Pelvic tilt": (6, 6), "Bird dog": (0, 0), "Dead bug": (0, 0)}
        assert adherence_by_patient([patient.id], *week) == {patient.id: (6, 6)}
        db.session.add(ItemLog(plan_item_id=added[0].id, patient_id=patient.id, day=MONDAY, sessions_done=1))
        db.session.commit()
        assert adherence_by_patient([patient.id], *week) == {patient.id: (7, 7)}


def test_adding_before_the_plan_starts_is_due_from_its_start(patient, coach):
    plan = assign(patient, coach, ["Pelvic tilt"], MONDAY + timedelta(days=7), assigned_on=MONDAY)
    with on(MONDAY):
        plan_service.add_items(plan, [make_item(title="Bird dog")], coach)
        db.session.commit()
    rows = db.session.scalars(db.select(PlanItemSchedule.valid_from)).all()
    assert rows == [MONDAY + timedelta(days=7)] * 2


def test_a_removed_item_is_due_until_the_day_it_was_removed(patient, coach, make_user):
    other = make_user(coach=coach)
    start = MONDAY - timedelta(weeks=2)
    plan = assign(patient, coach, ["Pelvic tilt", "Chin tuck"], start)
    assign(other, coach, ["Pelvic tilt"], start)
    removed = plan.items[1]
    log_every_day(patient, removed, start, MONDAY)
    with on(MONDAY):
        plan_service.remove_item(plan, removed, coach)
        db.session.commit()
    with on(MONDAY + timedelta(days=3)):
        figures = {row.item.id: (row.due, row.done, row.current) for row in item_adherence(patient.id, start, MONDAY)}
        assert figures[removed.id] == (14, 14, False)
        assert figures[plan.items[0].id] == (15, 0, True)
        # The roster's week: the removed item's last days still count, its removal day does not
        # (nor today, in progress and not done).
        week = (MONDAY - timedelta(days=3), MONDAY + timedelta(days=3))
        assert adherence_by_patient([patient.id, other.id], *week) == {patient.id: (6 + 3, 3), other.id: (6, 0)}


def test_a_replaced_plan_keeps_its_days_everywhere(patient, coach, make_user):
    other = make_user(coach=coach)
    start = MONDAY - timedelta(weeks=2)
    old = assign(patient, coach, ["Pelvic tilt", "Chin tuck"], start)
    assign(other, coach, ["Pelvic tilt"], start)
    for item in old.items:
        log_every_day(patient, item, start, MONDAY + timedelta(days=2))
    replace_day = MONDAY + timedelta(days=3)  # Thursday
    new = assign(patient, coach, ["Bird dog"], replace_day, replaces=old)
    with on(replace_day):
        # The roster's and the summary's week: the old plan's six days, all done; today's new item
        # is not held against the patient before it is done (a new plan does not drop the figure).
        week = (replace_day - timedelta(days=6), replace_day)
        assert review_for([patient.id], replace_day)[patient.id].adherence_percent == 100
        assert adherence_by_patient([patient.id, other.id], *week)[patient.id] == (12, 12)
        assert patient_summary(patient).review.adherence_percent == 100
        progress = progress_for(patient.id, replace_day)
        assert [(w["due"], w["done"]) for w in progress.weekly_adherence] == [(14, 14), (14, 14), (6, 6)]
        rows = [(row.item.library_item.title, row.due, row.done, row.current) for row in progress.items]
        assert rows == [("Bird dog", 0, 0, True), ("Pelvic tilt", 17, 17, False), ("Chin tuck", 17, 17, False)]
    assert new.items[0].schedules[0].valid_from == replace_day


def test_moving_a_plans_start_moves_its_items(patient, coach):
    start = MONDAY + timedelta(days=7)
    plan = assign(patient, coach, ["Pelvic tilt"], start, assigned_on=MONDAY)
    with on(MONDAY):
        plan_service.update_details(
            plan, title=plan.title, goals="", start_date=MONDAY - timedelta(days=2), actor=coach
        )
        db.session.commit()
        # Saturday and Sunday are over; Monday, today, is in progress and not done.
        assert adherence_by_patient([patient.id], MONDAY - timedelta(days=6), MONDAY) == {patient.id: (2, 0)}
        plan_service.update_details(plan, title=plan.title, goals="", start_date=MONDAY, actor=coach)
        db.session.commit()
        assert adherence_by_patient([patient.id], MONDAY - timedelta(days=6), MONDAY) == {patient.id: (0, 0)}


def test_the_progress_page_names_items_no_longer_on_the_plan(patient, coach, patient_client):
    start = date.today() - timedelta(weeks=2)
    old = assign(patient, coach, ["Pelvic tilt"], start)
    log_every_day(patient, old.items[0], start, start)  # something done: the page draws its figures
    plan_service.remove_item(old, old.items[0], coach)
    plan_service.add_items(old, [make_item(title="Bird dog")], coach)
    db.session.commit()
    html = patient_client.get("/me/progress").get_data(as_text=True)
    assert 'Pelvic tilt <span class="text-body-secondary small">(no longer on the plan)</span>' in html
    assert "Bird dog</th>" in html


def test_a_removed_item_added_on_the_windows_last_day_counts_that_day(patient, coach):
    start = MONDAY - timedelta(weeks=1)
    plan = assign(patient, coach, ["Pelvic tilt"], start)
    with on(MONDAY):
        [added], _skipped = plan_service.add_items(plan, [make_item(title="Bird dog")], coach)
        db.session.add(ItemLog(plan_item_id=added.id, patient_id=patient.id, day=MONDAY, sessions_done=1))
        db.session.commit()
    with on(MONDAY + timedelta(days=2)):
        plan_service.remove_item(plan, added, coach)
        db.session.commit()
    with on(MONDAY + timedelta(days=4)):
        # No longer on the plan, yet due on the window's last day: the day it joined.
        rows = item_adherence(patient.id, MONDAY - timedelta(days=6), MONDAY)
        figures = {row.item.library_item.title: (row.due, row.done, row.current) for row in rows}
        assert figures == {"Pelvic tilt": (7, 0, True), "Bird dog": (1, 1, False)}


def test_the_progress_page_adds_up_each_weeks_sessions_across_its_day_in_progress_and_four_week_edge(patient, coach):
    start = MONDAY - timedelta(weeks=4)
    plan = assign(patient, coach, ["Pelvic tilt"], start)
    wednesday = MONDAY + timedelta(days=2)
    log_every_day(patient, plan.items[0], start, wednesday)
    with on(wednesday):
        progress = progress_for(patient.id, wednesday)
    # The last four weeks start on a Thursday (MONDAY - 25): the first week's sessions count both
    # sides of it, and this week both its days that are over and today's, in progress.
    weeks = [(w["week_start"], w["due"], w["done"]) for w in progress.weekly_adherence]
    assert weeks == [(start + timedelta(weeks=n), 7, 7) for n in range(4)] + [(MONDAY, 3, 3)]
    assert [(row.due, row.done) for row in progress.items] == [(28, 28)]


def test_a_one_week_chart_on_a_monday_counts_the_session_done_today(patient, coach):
    plan = assign(patient, coach, ["Pelvic tilt"], MONDAY - timedelta(weeks=1))
    log_every_day(patient, plan.items[0], MONDAY, MONDAY)
    with on(MONDAY):
        # The week's first day is today, in progress: due once done, like any other day.
        assert weekly_adherence(patient.id, MONDAY, weeks=1) == [
            {"week_start": MONDAY, "due": 1, "done": 1, "percent": 100}
        ]


def test_a_pause_across_a_redose_leaves_out_each_rows_paused_days_alone(patient, coach):
    start = MONDAY - timedelta(weeks=2)
    plan = assign(patient, coach, ["Pelvic tilt", "Chin tuck"], start)
    resumed, still_paused = plan.items
    with on(MONDAY - timedelta(days=3)):  # Friday
        for item in plan.items:
            pause_item(plan, item, "Rest", coach)
        db.session.commit()
    with on(MONDAY):
        for item in plan.items:
            redose(plan, item, coach, times_per_day=2)
    with on(MONDAY + timedelta(days=2)):
        resume_item(plan, resumed, coach)
        db.session.commit()
    with on(MONDAY + timedelta(days=4)):
        window = (start, MONDAY + timedelta(days=3))
        figures = {row.item.id: row.due for row in item_adherence(patient.id, *window)}
        # Once a day until Sunday less the three paused days; twice a day from Monday, less
        # Monday and Tuesday for the item resumed on Wednesday, all four days for the other.
        assert figures == {resumed.id: 11 + 2 * 2, still_paused.id: 11}
        scheduled = 2 * (14 + 4 * 2)
        assert adherence_and_pauses([patient.id], *window) == {patient.id: (26, 0, scheduled - 26)}


def test_a_window_of_today_alone_owes_what_was_done_today(patient, coach):
    plan = assign(patient, coach, ["Pelvic tilt", "Chin tuck"], MONDAY - timedelta(weeks=1))
    log_every_day(patient, plan.items[0], MONDAY, MONDAY)
    with on(MONDAY):
        assert [(row.due, row.done) for row in item_adherence(patient.id, MONDAY, MONDAY)] == [(1, 1), (0, 0)]
        assert adherence_and_pauses([patient.id], MONDAY, MONDAY) == {patient.id: (1, 1, 0)}


def test_sessions_done_before_the_dose_was_lowered_that_day_count_up_to_the_new_dose(patient, coach):
    plan = assign(patient, coach, ["Pelvic tilt"], MONDAY - timedelta(weeks=1))
    item = plan.items[0]
    with on(MONDAY):
        redose(plan, item, coach, times_per_day=3)
        log_every_day(patient, item, MONDAY, MONDAY, sessions=3)
        redose(plan, item, coach, times_per_day=1)
    with on(MONDAY + timedelta(days=1)):
        # Monday asked for one session in the end: three done count as one, never above 100 %.
        [row] = item_adherence(patient.id, MONDAY, MONDAY)
        assert (row.due, row.done, row.percent) == (1, 1, 100)
        assert adherence_by_patient([patient.id], MONDAY, MONDAY) == {patient.id: (1, 1)}
        assert weeks_of(patient, MONDAY + timedelta(days=1))[-1] == (MONDAY, 1, 1)
