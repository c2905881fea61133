"""Factories for library items, programs and plans."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from portal.care.models import Plan, PlanItem, PlanItemSchedule, PlanStatus, Program, ProgramItem
from portal.care.schedules import SCHEDULE_FIELDS
from portal.exercises.models import LibraryItem
from portal.extensions import db
from portal.timeutil import local_today

_n = itertools.count(1)


def make_item(kind: str = "exercise", title: str | None = None, **kwargs) -> LibraryItem:
    n = next(_n)
    values = {
        "kind": kind,
        "title": title or f"Item {n}",
        "slug": f"item-{n}",
        "summary": f"Summary of item {n}.",
        "instructions": "Step one.\nStep two.",
        "cautions": "Stop if pain shoots down a leg.",
        "body_area": "lower_back",
        "default_sets": 2,
        "default_reps": 10,
        "default_hold_seconds": None,
        "default_times_per_day": 1,
        "default_days_per_week": 7,
    }
    values.update(kwargs)
    item = LibraryItem(**values)
    db.session.add(item)
    db.session.commit()
    return item


def make_program(owner=None, items: list[LibraryItem] | None = None, slug: str | None = None, **kwargs) -> Program:
    n = next(_n)
    program = Program(
        name=kwargs.pop("name", f"Program {n}"),
        description="For testing.",
        owner_id=getattr(owner, "id", None),
        slug=slug,
    )
    for position, item in enumerate(items or []):
        program.items.append(
            ProgramItem(
                library_item_id=item.id,
                sets=2,
                reps=10,
                hold_seconds=None,
                times_per_day=1,
                weekdays="0123456",
                position=position,
                note="",
            )
        )
    db.session.add(program)
    db.session.commit()
    return program


def make_plan(
    patient,
    coach=None,
    items: list[LibraryItem] | None = None,
    *,
    start_date: date | None = None,
    weekdays: str = "0123456",
    status: str = PlanStatus.ACTIVE,
    **kwargs,
) -> Plan:
    values = {
        "patient_id": patient.id,
        "coach_id": getattr(coach, "id", patient.coach_id),
        "title": kwargs.pop("title", "Test plan"),
        "goals": kwargs.pop("goals", "Walk the dog again."),
        "start_date": start_date or local_today(patient.tz) - timedelta(days=7),
    }
    if status == PlanStatus.ACTIVE:
        plan = Plan(**values)
        db.session.add(plan)
    else:
        # An ended plan holds no active slot. The ORM would apply active_key's default for None,
        # so insert the row with an explicit NULL.
        plan_id = db.session.execute(
            db.insert(Plan)
            .values(**values, status=status, active_key=None, end_date=local_today(patient.tz), version=1)
            .returning(Plan.id)
        ).scalar_one()
        plan = db.session.get(Plan, plan_id)
    for position, item in enumerate(items or []):
        plan.items.append(
            PlanItem(
                library_item_id=item.id,
                sets=2,
                reps=10,
                hold_seconds=5,
                times_per_day=2,
                weekdays=weekdays,
                position=position,
                coach_note=kwargs.get("note", ""),
            )
        )
    db.session.commit()
    schedule_from_start(plan)
    return plan


def schedule_from_start(plan: Plan) -> None:
    """Give the plan's items one schedule row each, from the plan's start, with the dose and days
    they hold now, replacing any they had: as if they had never changed (for tests that set up
    an item's columns directly). Ended plans' rows end on their end day; removed items' at once."""
    db.session.flush()
    item_ids = [item.id for item in plan.items]
    db.session.execute(db.delete(PlanItemSchedule).where(PlanItemSchedule.plan_item_id.in_(item_ids)))
    for item in plan.items:
        until = plan.end_date if plan.status != PlanStatus.ACTIVE else None
        if not item.is_active:
            until = plan.start_date
        db.session.add(
            PlanItemSchedule(
                plan_item_id=item.id,
                patient_id=plan.patient_id,
                valid_from=plan.start_date,
                valid_to=until,
                **{name: getattr(item, name) for name in SCHEDULE_FIELDS},
            )
        )
    db.session.commit()


def end_plan_on(plan: Plan, day: date) -> None:
    """The plan as if a coach had ended it on ``day``: its items' schedules end there."""
    plan.status, plan.active_key, plan.end_date = PlanStatus.ENDED, None, day
    db.session.commit()
    schedule_from_start(plan)
