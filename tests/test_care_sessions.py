"""Logging sessions of a plan item, marking a day done, and what Today and the guided session list.

Exact counts at every bound: an item done several times a day, a dose the coach
lowers after sessions were logged, undoing on a day with nothing logged, a paused
exercise, and a patient whose local day is not the practice's. The clock is frozen
(tests/clock.py), so the answers do not depend on the day the suite runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from portal.auth.models import Role
from portal.care.alerts import RedFlagState, ResumeNotice, acknowledge_alert, open_alert, resolve_alert
from portal.care.checkins import patient_today
from portal.care.models import AlertKind, ItemLog, PlanItem, PlanStatus
from portal.care.red_flags import Tier
from portal.care.today import (
    ItemPaused,
    NotDueToday,
    Rounds,
    SessionsOverDue,
    TodayItem,
    log_session,
    next_step,
    open_red_flag,
    plan_item_for_patient,
    red_flag_pause_started,
    round_items,
    rounds_of,
    session_items,
    sessions_count,
    sessions_logged,
    set_done,
    set_sessions,
    todays_plan,
)
from tests.clock import care_clock, care_now  # noqa: F401  (the fixture, used below)
from tests.test_checkins import make_plan

pytestmark = pytest.mark.usefixtures("care_clock")


def day_log(db, item, day: date) -> tuple[int, bool] | None:
    """(sessions done, done for the day) as stored for the item on ``day`` (the export shows both)."""
    row = db.session.scalars(
        db.select(ItemLog).where(ItemLog.plan_item_id == item.id, ItemLog.day == day)
    ).one_or_none()
    return None if row is None else (row.sessions_done, row.done)


def sessions_shown(patient, item) -> int:
    """The "n of m" count Today shows for the item."""
    [entry] = [e for e in todays_plan(patient).items if e.plan_item.id == item.id]
    return entry.sessions_done


@pytest.fixture
def thrice(db, patient, coach):
    """An exercise done three times a day, due every day."""
    plan = make_plan(db, patient, coach, n_items=1)
    plan.items[0].times_per_day = 3
    db.session.commit()
    return plan.items[0]


@pytest.fixture
def once(db, patient, coach):
    """An exercise done once a day, due every day."""
    return make_plan(db, patient, coach, n_items=1).items[0]


def test_sessions_count_up_to_the_dose_and_never_past_it(db, patient, thrice):
    today = patient_today(patient)
    log_session(patient, thrice)
    db.session.commit()
    assert day_log(db, thrice, today) == (1, False)
    log_session(patient, thrice)
    db.session.commit()
    assert day_log(db, thrice, today) == (2, False)
    assert todays_plan(patient).items[0].done is False
    log_session(patient, thrice)
    db.session.commit()
    assert day_log(db, thrice, today) == (3, True)
    assert todays_plan(patient).done_count == 1
    log_session(patient, thrice)  # a fourth click: still three
    db.session.commit()
    assert day_log(db, thrice, today) == (3, True)
    assert sessions_shown(patient, thrice) == 3


def test_a_once_a_day_item_is_done_with_one_session(db, patient, once):
    today = patient_today(patient)
    log_session(patient, once)
    db.session.commit()
    assert day_log(db, once, today) == (1, True)
    log_session(patient, once)  # a double click
    db.session.commit()
    assert day_log(db, once, today) == (1, True)


def test_undo_takes_back_one_session_at_a_time_and_stops_at_zero(db, patient, thrice):
    today = patient_today(patient)
    for _ in range(3):
        log_session(patient, thrice)
    db.session.commit()
    log_session(patient, thrice, undo=True)
    db.session.commit()
    assert day_log(db, thrice, today) == (2, False)
    log_session(patient, thrice, undo=True)
    db.session.commit()
    assert day_log(db, thrice, today) == (1, False)
    log_session(patient, thrice, undo=True)
    db.session.commit()
    assert day_log(db, thrice, today) == (0, False)
    log_session(patient, thrice, undo=True)  # nothing left to take back
    db.session.commit()
    assert day_log(db, thrice, today) == (0, False)
    assert sessions_shown(patient, thrice) == 0


def test_undo_on_a_day_with_nothing_logged_records_nothing_done(db, patient, thrice):
    today = patient_today(patient)
    log_session(patient, thrice, undo=True)
    db.session.commit()
    assert day_log(db, thrice, today) == (0, False)
    assert sessions_shown(patient, thrice) == 0
    assert todays_plan(patient).done_count == 0


def test_undo_after_the_coach_lowered_the_dose_leaves_the_day_one_short(db, patient, thrice):
    today = patient_today(patient)
    for _ in range(3):
        log_session(patient, thrice)
    thrice.times_per_day = 2  # the coach lowers the dose after three sessions were logged
    db.session.commit()
    log_session(patient, thrice, undo=True)
    db.session.commit()
    assert day_log(db, thrice, today) == (1, False)


def test_logging_is_refused_for_a_paused_exercise_but_undo_is_allowed(db, patient, thrice):
    today = patient_today(patient)
    log_session(patient, thrice)
    open_alert(patient, AlertKind.RED_FLAG, "urgent", notify=False)
    db.session.commit()
    with pytest.raises(ItemPaused, match=r"^This exercise is paused until your coach checks in with you\.$"):
        log_session(patient, thrice)
    with pytest.raises(ItemPaused, match=r"^This exercise is paused until your coach checks in with you\.$"):
        set_done(patient, thrice, True)
    log_session(patient, thrice, undo=True)
    db.session.commit()
    assert day_log(db, thrice, today) == (0, False)


def test_another_patients_red_flag_pauses_nothing_here(db, coach, make_user, patient, once):
    other = make_user(Role.PATIENT, coach=coach)
    open_alert(other, AlertKind.RED_FLAG, "urgent", notify=False)
    db.session.commit()
    log_session(patient, once)
    db.session.commit()
    assert day_log(db, once, patient_today(patient)) == (1, True)
    plan_today = todays_plan(patient)
    assert plan_today.exercises_paused is False
    assert [entry.paused for entry in plan_today.items] == [False]


def test_logging_a_day_the_item_is_not_due_is_refused(db, patient, coach):
    today = patient_today(patient)
    other_days = "".join(str(d) for d in range(7) if d != today.weekday())
    item = make_plan(db, patient, coach, n_items=1, weekdays=other_days).items[0]
    with pytest.raises(NotDueToday, match=r"^This item is not on your plan for today\.$"):
        log_session(patient, item)
    assert day_log(db, item, today) is None


def test_set_done_records_every_session_of_the_day(db, patient, coach):
    today = patient_today(patient)
    once, thrice = make_plan(db, patient, coach, n_items=2).items
    thrice.times_per_day = 3
    db.session.commit()
    set_done(patient, once, True)
    set_done(patient, thrice, True)
    db.session.commit()
    assert day_log(db, once, today) == (1, True)
    assert day_log(db, thrice, today) == (3, True)
    set_done(patient, thrice, False)
    db.session.commit()
    assert day_log(db, thrice, today) == (0, False)


def test_set_done_and_log_session_use_the_patients_local_day(db, coach, make_user):
    # 23:30 UTC on Friday 20 March: still Friday in Chicago, already Saturday in Tokyo.
    with time_machine.travel(datetime(2026, 3, 20, 23, 30, tzinfo=UTC), tick=False):
        tokyo = make_user(Role.PATIENT, coach=coach, timezone="Asia/Tokyo")
        first, second = make_plan(db, tokyo, coach, n_items=2, start=date(2026, 3, 1)).items
        set_done(tokyo, first, True)
        log_session(tokyo, second)
        db.session.commit()
        saturday = date(2026, 3, 21)
        assert day_log(db, first, saturday) == (1, True)
        assert day_log(db, second, saturday) == (1, True)
        assert [entry.done for entry in todays_plan(tokyo).items] == [True, True]


def test_yesterdays_sessions_do_not_count_today(db, patient, thrice):
    today = patient_today(patient)
    db.session.add(
        ItemLog(plan_item_id=thrice.id, patient_id=patient.id, day=today - timedelta(days=1), sessions_done=3)
    )
    db.session.commit()
    assert sessions_shown(patient, thrice) == 0
    assert todays_plan(patient).done_count == 0


def test_a_plan_starting_today_is_due_today(db, patient, coach):
    today = patient_today(patient)
    item = make_plan(db, patient, coach, n_items=1, start=today).items[0]
    plan_today = todays_plan(patient)
    assert plan_today.not_started is False
    assert [entry.plan_item.id for entry in plan_today.items] == [item.id]
    log_session(patient, item)
    assert day_log(db, item, today) == (1, True)


def test_the_guided_session_lists_the_exercises_that_are_not_paused(db, patient, coach):
    plan = make_plan(db, patient, coach, n_items=3)
    stretch, posture, diet = plan.items
    posture.library_item.kind = "posture"
    diet.library_item.kind = "diet"
    db.session.commit()
    assert [entry.plan_item.id for entry in session_items(todays_plan(patient))] == [stretch.id]
    open_alert(patient, AlertKind.RED_FLAG, "urgent", notify=False)
    db.session.commit()
    assert session_items(todays_plan(patient)) == []
    assert todays_plan(patient).exercises_paused is True
    assert [entry.paused for entry in todays_plan(patient).items] == [True, False, False]


def test_an_item_belongs_to_its_patients_active_plan_only(db, coach, make_user, patient):
    other = make_user(Role.PATIENT, coach=coach)
    mine = make_plan(db, patient, coach, n_items=2)
    theirs = make_plan(db, other, coach, n_items=1)
    kept, removed = mine.items
    assert plan_item_for_patient(patient, kept.id).id == kept.id
    assert plan_item_for_patient(patient, theirs.items[0].id) is None
    assert plan_item_for_patient(other, kept.id) is None
    removed.is_active = False
    db.session.commit()
    assert plan_item_for_patient(patient, removed.id) is None
    mine.status = PlanStatus.ENDED
    db.session.commit()
    assert plan_item_for_patient(patient, kept.id) is None


# --- rounds of the guided session and the day's sessions --------------------------------------


def steps_of(*doses: tuple[int, int]) -> list[TodayItem]:
    """Session steps from (times a day, sessions done) pairs (no database: the arithmetic alone)."""
    return [TodayItem(PlanItem(times_per_day=times), done) for times, done in doses]


@pytest.mark.parametrize(
    ("doses", "done", "total"),
    [
        ([], 0, 0),
        ([(1, 0)], 0, 1),
        ([(1, 1)], 1, 1),
        ([(3, 1), (1, 1)], 1, 3),  # one pass: round 1 of 3
        ([(3, 1), (1, 0)], 0, 3),  # the once-a-day movement was skipped: no round complete
        ([(3, 3), (1, 0)], 0, 3),  # three taps on one card are not three rounds
        ([(3, 2), (2, 2), (1, 1)], 2, 3),
        ([(3, 3), (2, 2), (1, 1)], 3, 3),
        ([(3, 2), (3, 1)], 1, 3),
        ([(0, 0)], 0, 1),  # no times a day counts as once
        ([(2, 5)], 2, 2),  # a count above the dose (the dose was lowered) is every round
    ],
)
def test_rounds_done_are_the_passes_every_movement_completed(doses, done, total):
    assert rounds_of(steps_of(*doses)) == Rounds(done=done, total=total)


def test_a_round_says_which_one_is_current_and_when_all_are_done():
    assert Rounds(0, 3).current == 1 and not Rounds(0, 3).all_done
    assert Rounds(1, 3).current == 2 and not Rounds(1, 3).all_done
    assert Rounds(2, 3).current == 3
    assert Rounds(3, 3).current == 3 and Rounds(3, 3).all_done
    assert Rounds(0, 0).all_done


@pytest.mark.parametrize(
    ("doses", "after", "expected"),
    [
        ([(3, 0), (1, 0)], 0, 1),
        ([(3, 1), (1, 0)], 1, 2),  # step 1 logged in this round: on to step 2
        ([(3, 1), (1, 0)], 0, 2),  # restarting mid-round does not repeat step 1
        ([(3, 1), (1, 1)], 0, 1),  # round 2 starts again at step 1
        ([(3, 1), (1, 1)], 1, 3),  # ... and the once-a-day step is not in it: the summary
        ([(3, 3), (1, 1)], 0, 3),  # all done: the summary
        ([(2, 1), (2, 0), (2, 1)], 2, 4),  # round 1 still open, the third already has its session
        ([(2, 1), (2, 0), (2, 1)], 0, 2),
        ([(2, 1), (2, 1), (2, 1)], 3, 4),
    ],
)
def test_the_next_step_is_the_next_movement_short_in_this_round(doses, after, expected):
    assert next_step(steps_of(*doses), after) == expected


@pytest.mark.parametrize(
    ("doses", "expected"),
    [([], (0, 0)), ([(3, 1), (1, 1)], (2, 4)), ([(2, 5), (1, 0)], (2, 3)), ([(0, 1)], (1, 1)), ([(4, 4)], (4, 4))],
)
def test_the_days_sessions_count_each_item_up_to_its_dose(doses, expected):
    assert sessions_count(steps_of(*doses)) == expected


def test_today_counts_sessions_of_the_items_in_its_count(db, patient, coach):
    plan = make_plan(db, patient, coach, n_items=3)
    first, second, third = plan.items
    first.times_per_day, second.times_per_day, third.times_per_day = 3, 1, 2
    db.session.commit()
    log_session(patient, first)
    log_session(patient, second)
    db.session.commit()
    plan_today = todays_plan(patient)
    assert (plan_today.sessions_done, plan_today.sessions_total) == (2, 6)
    assert plan_today.done_count == 1
    assert rounds_of(session_items(plan_today)) == Rounds(done=0, total=3)
    log_session(patient, third)
    db.session.commit()
    plan_today = todays_plan(patient)
    assert (plan_today.sessions_done, plan_today.sessions_total) == (3, 6)
    assert rounds_of(session_items(plan_today)) == Rounds(done=1, total=3)


# --- an exact count (what a phone sends, safe to retry) ----------------------------------------


def test_set_sessions_makes_the_days_count_exactly_that(db, patient, thrice):
    today = patient_today(patient)
    assert sessions_logged(thrice, today) == 0
    set_sessions(patient, thrice, 2)
    db.session.commit()
    assert day_log(db, thrice, today) == (2, False)
    assert sessions_logged(thrice, today) == 2
    set_sessions(patient, thrice, 2)  # the same count again (a retry): the same state
    db.session.commit()
    assert day_log(db, thrice, today) == (2, False)
    set_sessions(patient, thrice, 3)
    db.session.commit()
    assert day_log(db, thrice, today) == (3, True)
    assert sessions_shown(patient, thrice) == 3
    set_sessions(patient, thrice, 0)
    db.session.commit()
    assert day_log(db, thrice, today) == (0, False)


@pytest.mark.parametrize("sessions", [-1, 4])
def test_set_sessions_refuses_a_count_outside_the_days_dose(db, patient, thrice, sessions):
    with pytest.raises(SessionsOverDue, match=r"^This item asks for 3 sessions today: send a number from 0 to 3\.$"):
        set_sessions(patient, thrice, sessions)
    assert day_log(db, thrice, patient_today(patient)) is None


def test_set_sessions_counts_no_times_a_day_as_once(db, patient, once):
    once.times_per_day = 0
    db.session.commit()
    with pytest.raises(SessionsOverDue, match=r"from 0 to 1\.$"):
        set_sessions(patient, once, 2)
    set_sessions(patient, once, 1)
    db.session.commit()
    assert day_log(db, once, patient_today(patient)) == (1, True)


def test_set_sessions_on_a_day_the_item_is_not_due_is_refused(db, patient, coach):
    today = patient_today(patient)
    other_days = "".join(str(d) for d in range(7) if d != today.weekday())
    item = make_plan(db, patient, coach, n_items=1, weekdays=other_days).items[0]
    with pytest.raises(NotDueToday, match=r"^This item is not on your plan for today\.$"):
        set_sessions(patient, item, 1)
    assert day_log(db, item, today) is None


def test_set_sessions_while_paused_may_keep_or_lower_the_count_but_not_raise_it(db, patient, thrice):
    today = patient_today(patient)
    set_sessions(patient, thrice, 2)
    open_alert(patient, AlertKind.RED_FLAG, "urgent", notify=False)
    db.session.commit()
    set_sessions(patient, thrice, 2)  # the stored count again (a retry): nothing gained
    with pytest.raises(ItemPaused, match=r"^This exercise is paused until your coach checks in with you\.$"):
        set_sessions(patient, thrice, 3)
    assert day_log(db, thrice, today) == (2, False)
    set_sessions(patient, thrice, 1)
    db.session.commit()
    assert day_log(db, thrice, today) == (1, False)


def test_set_sessions_uses_the_patients_local_day(db, coach, make_user):
    # 23:30 UTC on Friday 20 March: already Saturday in Tokyo.
    with time_machine.travel(datetime(2026, 3, 20, 23, 30, tzinfo=UTC), tick=False):
        tokyo = make_user(Role.PATIENT, coach=coach, timezone="Asia/Tokyo")
        [item] = make_plan(db, tokyo, coach, n_items=1, start=date(2026, 3, 1)).items
        set_sessions(tokyo, item, 1)
        db.session.commit()
        assert day_log(db, item, date(2026, 3, 21)) == (1, True)
        assert (sessions_logged(item, date(2026, 3, 21)), sessions_logged(item, date(2026, 3, 20))) == (1, 0)


def test_sessions_logged_reads_this_item_on_this_day_only(db, patient, coach):
    today = patient_today(patient)
    first, second = make_plan(db, patient, coach, n_items=2).items
    first.times_per_day = 3
    db.session.add(
        ItemLog(plan_item_id=first.id, patient_id=patient.id, day=today - timedelta(days=1), sessions_done=3)
    )
    db.session.commit()
    log_session(patient, second)
    db.session.commit()
    assert sessions_logged(first, today) == 0
    log_session(patient, first)
    log_session(patient, first)
    db.session.commit()
    assert (sessions_logged(first, today), sessions_logged(second, today)) == (2, 1)
    assert sessions_logged(first, today - timedelta(days=1)) == 3


# --- the red flag behind Today's safety box and its pause ------------------------------------


def test_the_open_red_flag_is_this_patients_open_one(db, coach, make_user, patient):
    assert open_red_flag(patient.id) is None
    other = make_user(Role.PATIENT, coach=coach)
    open_alert(other, AlertKind.RED_FLAG, "Theirs", notify=False)
    open_alert(patient, AlertKind.PAIN_WORSENING, "Pain up", notify=False)
    earlier, _created = open_alert(patient, AlertKind.RED_FLAG, "Fall", notify=False)
    resolve_alert(earlier, coach, "Called: fine.", resume=True)
    db.session.commit()
    assert open_red_flag(patient.id) is None  # resolved, another kind, another patient's: none is open here
    flag, _created = open_alert(patient, AlertKind.RED_FLAG, "Numb leg", notify=False, tier=Tier.SOON)
    db.session.commit()
    assert open_red_flag(patient.id) == flag


def test_the_pause_started_when_the_first_red_flag_still_pausing_opened(db, coach, make_user, patient):
    first_at = care_now() - timedelta(days=3)
    second_at = care_now() - timedelta(days=1)
    assert red_flag_pause_started(patient.id) is None
    other = make_user(Role.PATIENT, coach=coach)
    with time_machine.travel(first_at - timedelta(days=1), tick=False):
        open_alert(other, AlertKind.RED_FLAG, "Theirs", notify=False)  # another patient's pause
        open_alert(patient, AlertKind.PAIN_WORSENING, "Pain up", notify=False)  # pauses nothing
        db.session.commit()
    assert red_flag_pause_started(patient.id) is None
    with time_machine.travel(first_at, tick=False):
        first, _created = open_alert(patient, AlertKind.RED_FLAG, "Fall", notify=False)
        db.session.commit()
    assert red_flag_pause_started(patient.id) == first_at.astimezone(UTC).replace(tzinfo=None)
    # Resolved without resuming, the pause goes on; a later red flag does not restart it.
    resolve_alert(first, coach, "Called: rest for now.")
    db.session.commit()
    with time_machine.travel(second_at, tick=False):
        open_alert(patient, AlertKind.RED_FLAG, "Numb leg", notify=False)
        db.session.commit()
    assert red_flag_pause_started(patient.id) == first_at.astimezone(UTC).replace(tzinfo=None)


# --- a day's rounds (the patient's times of day) --------------------------------------------------


def test_each_round_asks_the_items_due_at_least_that_many_times():
    thrice, once, twice, never_set, five = (PlanItem(times_per_day=t) for t in (3, 1, 2, 0, 5))
    items = [thrice, once, twice, never_set, five]
    assert round_items(items, 3) == [items, [thrice, twice, five], [thrice, five]]
    assert round_items(items, 1) == [items]  # one time of day: everything in it
    assert round_items(items, 0) == []


def test_the_check_in_reads_the_red_flag_as_today_does_without_the_plan_changes(db, coach, make_user):
    """The check-in's lighter read (no plan changes) tells the same red flag: its tier, the pause, that the
    patient's own coach acknowledged it, and, once resumed, the resume on the patient's own day."""
    # 17:00 UTC on Friday 20 March: already Saturday in Tokyo.
    with time_machine.travel(datetime(2026, 3, 20, 17, 0, tzinfo=UTC), tick=False):
        tokyo = make_user(Role.PATIENT, coach=coach, timezone="Asia/Tokyo")
        make_plan(db, tokyo, coach, n_items=1, start=date(2026, 3, 1))
        alert, _created = open_alert(tokyo, AlertKind.RED_FLAG, "Numb leg", notify=False)
        acknowledge_alert(alert, coach)
        db.session.commit()
        seen = RedFlagState(
            open_tier=Tier.TODAY, exercises_paused=True, acknowledged_by=coach.name, acknowledged_by_coach=True
        )
        check_in = todays_plan(tokyo, plan_changes=False)
        assert todays_plan(tokyo).red_flag == check_in.red_flag == seen
        assert check_in.plan_changes == []
        resolve_alert(alert, coach, "Cleared by the doctor.", resume=True)
        db.session.commit()
        resumed = RedFlagState(
            resume_notice=ResumeNotice(alert.id, date(2026, 3, 21), "Cleared by the doctor.", coach.name)
        )
        assert todays_plan(tokyo).red_flag == todays_plan(tokyo, plan_changes=False).red_flag == resumed
