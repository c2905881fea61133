"""Effective-dated schedules: which dose and days a plan item asked for on each of the patient's days.

A plan item's columns hold the dose and days in force now (what Today, the plan and the
calendar show); its ``PlanItemSchedule`` rows hold every run of days [valid_from, valid_to)
with what was in force then. A change applies from the patient's local day of the change
(the same day's earlier state is replaced: the day counts with what the coach settled on);
earlier days keep the row they had. An item is due from the day it joined the plan (the
plan's start for the items it was assigned with) until the day it left it or its plan ended,
that day excluded, as a change or a pause applies from its own day. Adherence
(portal.care.progress) reads only these rows, so a change never rewrites past figures.

Functions add to the session or run one UPDATE; the caller commits.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, update

from portal.care.models import Plan, PlanItem, PlanItemSchedule
from portal.extensions import db

SCHEDULE_FIELDS = ("sets", "reps", "hold_seconds", "times_per_day", "weekdays")


def _values(item: PlanItem) -> dict:
    return {name: getattr(item, name) for name in SCHEDULE_FIELDS}


def start_schedule(plan: Plan, item: PlanItem, day: date) -> PlanItemSchedule:
    """Open a new item's first row: due under its current dose from ``day``."""
    row = PlanItemSchedule(patient_id=plan.patient_id, valid_from=day, valid_to=None, **_values(item))
    item.schedules.append(row)
    return row


def open_schedule(item: PlanItem) -> PlanItemSchedule | None:
    """The item's row in force now (the one without an end), if it has one."""
    return db.session.scalar(
        db.select(PlanItemSchedule).where(PlanItemSchedule.plan_item_id == item.id, PlanItemSchedule.valid_to.is_(None))
    )


def change_schedule(plan: Plan, item: PlanItem, day: date) -> PlanItemSchedule:
    """The item's dose or days just changed: what it asks for now applies from ``day``.

    The open row ends on ``day`` and a new one starts there; a row that starts on ``day``
    or later (a second change the same day, or one before the plan started) takes the new
    values in place, so no day is counted twice."""
    current = open_schedule(item)
    if current is not None and current.valid_from >= day:
        for name, value in _values(item).items():
            setattr(current, name, value)
        return current
    if current is not None:
        current.valid_to = day
    row = PlanItemSchedule(plan_item_id=item.id, patient_id=plan.patient_id, valid_from=day, **_values(item))
    db.session.add(row)
    return row


def end_schedules(plan: Plan, day: date, item: PlanItem | None = None) -> None:
    """Close the open rows of the plan's items (or of ``item`` only) on ``day``: the item left the
    plan, or the plan ended, that day. A row that had not started yet ends where it starts (no
    day due). One UPDATE."""
    items = db.select(PlanItem.id).where(PlanItem.plan_id == plan.id)
    if item is not None:
        items = items.where(PlanItem.id == item.id)
    db.session.execute(
        update(PlanItemSchedule)
        .where(PlanItemSchedule.plan_item_id.in_(items.scalar_subquery()), PlanItemSchedule.valid_to.is_(None))
        .values(valid_to=case((PlanItemSchedule.valid_from > day, PlanItemSchedule.valid_from), else_=day))
        .execution_options(synchronize_session=False)
    )


def move_plan_start(plan: Plan, old_start: date, new_start: date) -> None:
    """The plan's start moved: the items it started with start with it, and no row of its items
    runs before the new start (days before a plan starts are not on it). One UPDATE."""
    items = db.select(PlanItem.id).where(PlanItem.plan_id == plan.id).scalar_subquery()
    starts_with_plan = PlanItemSchedule.valid_from == old_start
    before_start = PlanItemSchedule.valid_from < new_start
    ended_before = PlanItemSchedule.valid_to < new_start
    db.session.execute(
        update(PlanItemSchedule)
        .where(PlanItemSchedule.plan_item_id.in_(items), starts_with_plan | before_start)
        .values(
            valid_from=case((ended_before, PlanItemSchedule.valid_to), else_=new_start),
        )
        .execution_options(synchronize_session=False)
    )
