"""Effective-dated schedule rows exactly (portal.care.schedules): opening, changing, ending, moving."""

from __future__ import annotations

from datetime import date, timedelta

from portal.auth.models import Role
from portal.care.models import PlanItem, PlanItemSchedule
from portal.care.schedules import (
    SCHEDULE_FIELDS,
    change_schedule,
    end_schedules,
    move_plan_start,
    open_schedule,
    start_schedule,
)
from portal.extensions import db
from tests.plan_factories import make_item, make_plan

D = date(2026, 3, 16)


def rows(item) -> list[tuple]:
    return [
        (r.patient_id, r.valid_from, r.valid_to, r.times_per_day, r.weekdays)
        for r in db.session.scalars(
            db.select(PlanItemSchedule).where(PlanItemSchedule.plan_item_id == item.id).order_by(PlanItemSchedule.id)
        )
    ]


def plan_with(patient, n: int = 2, start: date = D - timedelta(days=10)):
    """A plan whose items each have one open row from its start (make_plan's)."""
    return make_plan(patient, items=[make_item() for _ in range(n)], start_date=start)


def test_the_fields_a_row_keeps():
    assert SCHEDULE_FIELDS == ("sets", "reps", "hold_seconds", "times_per_day", "weekdays")


def test_start_schedule_opens_a_row_with_the_items_dose(patient):
    plan = plan_with(patient, n=0)
    item = PlanItem(
        library_item_id=make_item().id, sets=3, reps=5, hold_seconds=10, times_per_day=2, weekdays="13", position=0
    )
    plan.items.append(item)
    row = start_schedule(plan, item, D)
    db.session.commit()
    assert (row.plan_item_id, row.patient_id, row.valid_from, row.valid_to) == (item.id, patient.id, D, None)
    assert (row.sets, row.reps, row.hold_seconds, row.times_per_day, row.weekdays) == (3, 5, 10, 2, "13")
    assert open_schedule(item) == row


def test_a_change_closes_the_open_row_on_its_day_and_opens_the_next(patient):
    plan = plan_with(patient)
    item = plan.items[0]
    item.times_per_day, item.weekdays = 3, "024"
    new = change_schedule(plan, item, D)
    db.session.commit()
    assert rows(item) == [
        (patient.id, D - timedelta(days=10), D, 2, "0123456"),
        (patient.id, D, None, 3, "024"),
    ]
    assert open_schedule(item) == new
    assert rows(plan.items[1]) == [(patient.id, D - timedelta(days=10), None, 2, "0123456")]  # untouched


def test_a_change_on_or_before_the_open_rows_first_day_rewrites_it(patient):
    plan = plan_with(patient, start=D + timedelta(days=5))  # not started yet
    item = plan.items[0]
    item.times_per_day = 1
    assert change_schedule(plan, item, D) is open_schedule(item)
    item.times_per_day = 3
    change_schedule(plan, item, D + timedelta(days=5))  # on its first day: still the one row
    db.session.commit()
    assert rows(item) == [(patient.id, D + timedelta(days=5), None, 3, "0123456")]


def test_a_change_to_an_item_without_rows_opens_one(patient):
    plan = plan_with(patient)
    item = plan.items[0]
    db.session.execute(db.delete(PlanItemSchedule).where(PlanItemSchedule.plan_item_id == item.id))
    assert open_schedule(item) is None
    change_schedule(plan, item, D)
    db.session.commit()
    assert rows(item) == [(patient.id, D, None, 2, "0123456")]


def test_ending_closes_the_plans_open_rows_or_one_items(patient, make_user):
    plan = plan_with(patient, n=3)
    other = make_user(Role.PATIENT, coach=patient.coach)
    elsewhere = plan_with(other, n=1)
    first, second, third = plan.items
    end_schedules(plan, D, first)
    db.session.commit()
    assert rows(first)[-1][2] == D and rows(second)[-1][2] is None
    # A row that starts after the day ends where it starts: no day due.
    third.times_per_day = 1
    change_schedule(plan, third, D + timedelta(days=4))
    end_schedules(plan, D + timedelta(days=2))
    db.session.commit()
    assert rows(first)[-1][2] == D  # an ended row stays as it was
    assert rows(second)[-1][2] == D + timedelta(days=2)
    assert rows(third) == [
        (patient.id, D - timedelta(days=10), D + timedelta(days=4), 2, "0123456"),
        (patient.id, D + timedelta(days=4), D + timedelta(days=4), 1, "0123456"),
    ]
    assert rows(elsewhere.items[0])[-1][2] is None  # another plan's rows stay open


def test_moving_the_start_earlier_takes_the_items_it_started_with(patient):
    start = D - timedelta(days=10)
    plan = plan_with(patient, n=2, start=start)
    first, added = plan.items
    db.session.execute(
        db.update(PlanItemSchedule).where(PlanItemSchedule.plan_item_id == added.id).values(valid_from=D)
    )
    move_plan_start(plan, start, start - timedelta(days=3))
    db.session.commit()
    assert rows(first)[0][1] == start - timedelta(days=3)
    assert rows(added)[0][1] == D  # joined later: still from the day it joined


def test_moving_the_start_later_clips_every_row_before_it(patient):
    start = D - timedelta(days=10)
    plan = plan_with(patient, n=1, start=start)
    item = plan.items[0]
    item.times_per_day = 1
    change_schedule(plan, item, D - timedelta(days=6))
    item.times_per_day = 3
    change_schedule(plan, item, D - timedelta(days=2))
    move_plan_start(plan, start, D - timedelta(days=4))
    db.session.commit()
    assert rows(item) == [
        (patient.id, D - timedelta(days=6), D - timedelta(days=6), 2, "0123456"),  # ended before: empty
        (patient.id, D - timedelta(days=4), D - timedelta(days=2), 1, "0123456"),  # clipped
        (patient.id, D - timedelta(days=2), None, 3, "0123456"),  # after: as it was
    ]


def test_moving_one_plans_start_leaves_other_plans_rows_alone(patient, make_user):
    start = D - timedelta(days=10)
    plan = plan_with(patient, n=1, start=start)
    other = plan_with(make_user(Role.PATIENT, coach=patient.coach), n=1, start=start)
    move_plan_start(plan, start, start - timedelta(days=2))
    db.session.commit()
    assert rows(plan.items[0])[0][1] == start - timedelta(days=2)
    assert rows(other.items[0])[0][1] == start
