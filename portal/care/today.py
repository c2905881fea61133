"""Today's plan for a patient: the items due on their local day and which are done.

The patient's day is their local date (``local_today(patient.tz)``). Completion is an
ItemLog row per (plan item, day); marking done and undoing are upserts, so repeating
either (double click, resubmitted form) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _

from portal.auth.models import User
from portal.care.alerts import exercises_paused
from portal.care.models import ItemLog, Plan, PlanItem, PlanStatus
from portal.care.plans import active_plan
from portal.exercises.models import KIND_LABELS, ItemKind, LibraryItem
from portal.extensions import db
from portal.sqlutil import insert_for
from portal.timeutil import local_today, utcnow

GROUP_ORDER = (ItemKind.EXERCISE, ItemKind.POSTURE, ItemKind.DIET)


class NotDueToday(ValueError):
    """The item is on the patient's plan but not scheduled for this day."""


class ItemPaused(ValueError):
    """The item is paused (a red flag paused the exercises until the coach checks in)."""


# The kinds a red flag pauses; posture habits and nutrition stay available.
PAUSABLE_KINDS = frozenset({ItemKind.EXERCISE.value})


def is_paused(item: PlanItem, paused: bool) -> bool:
    """Whether this item is paused, given whether the patient's exercises are paused."""
    return paused and item.library_item.kind in PAUSABLE_KINDS


@dataclass
class TodayItem:
    plan_item: PlanItem
    done: bool
    paused: bool = False

    @property
    def library_item(self) -> LibraryItem:
        return self.plan_item.library_item

    @property
    def title(self) -> str:
        return self.plan_item.library_item.title


@dataclass
class TodayGroup:
    kind: str
    label: str
    items: list[TodayItem] = field(default_factory=list)

    @property
    def paused(self) -> bool:
        return bool(self.items) and all(entry.paused for entry in self.items)


@dataclass
class TodayPlan:
    day: date
    plan: Plan | None
    items: list[TodayItem]
    exercises_paused: bool = False

    @property
    def not_started(self) -> bool:
        return self.plan is not None and self.plan.start_date > self.day

    @property
    def groups(self) -> list[TodayGroup]:
        """Non-empty groups in a fixed order: movements, posture habits, nutrition."""
        groups = {kind.value: TodayGroup(kind.value, str(KIND_LABELS[kind])) for kind in GROUP_ORDER}
        for entry in self.items:
            groups.setdefault(entry.library_item.kind, TodayGroup(entry.library_item.kind, entry.library_item.kind))
            groups[entry.library_item.kind].items.append(entry)
        return [group for group in groups.values() if group.items]

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def done_count(self) -> int:
        return sum(1 for entry in self.items if entry.done)


def due_items(plan: Plan | None, day: date) -> list[PlanItem]:
    """Active items of the plan scheduled on ``day`` (none before the plan starts), in plan order."""
    if plan is None or plan.start_date > day:
        return []
    return [item for item in plan.items if item.is_active and item.is_due_on(day)]


def done_item_ids(patient_id: int, day: date) -> set[int]:
    """Ids of the plan items the patient marked done on ``day`` (one statement)."""
    return set(
        db.session.scalars(
            db.select(ItemLog.plan_item_id).where(
                ItemLog.patient_id == patient_id, ItemLog.day == day, ItemLog.done.is_(True)
            )
        )
    )


def todays_plan(patient: User, day: date | None = None) -> TodayPlan:
    """What the patient has to do on ``day`` (default: their local today), with done states."""
    day = day or local_today(patient.tz)
    plan = active_plan(patient.id)
    due = due_items(plan, day)
    done = done_item_ids(patient.id, day) if due else set()
    paused = exercises_paused(patient.id)
    items = [TodayItem(item, item.id in done, is_paused(item, paused)) for item in due]
    return TodayPlan(day=day, plan=plan, items=items, exercises_paused=paused)


def plan_item_for_patient(patient: User, plan_item_id: int) -> PlanItem | None:
    """An active item of the patient's active plan, or None (someone else's item, removed, or ended plan)."""
    return db.session.scalar(
        db.select(PlanItem)
        .join(Plan, Plan.id == PlanItem.plan_id)
        .where(
            PlanItem.id == plan_item_id,
            PlanItem.is_active.is_(True),
            Plan.patient_id == patient.id,
            Plan.status == PlanStatus.ACTIVE,
        )
    )


def set_done(patient: User, item: PlanItem, done: bool, day: date | None = None) -> None:
    """Mark an item done (or not done) for the patient's day; idempotent (the caller commits).

    Raises NotDueToday when the item is not scheduled that day or the plan has not started,
    ItemPaused when a red flag paused it."""
    day = day or local_today(patient.tz)
    if done and is_paused(item, exercises_paused(patient.id)):
        raise ItemPaused(_("This exercise is paused until your coach checks in with you."))
    if item.plan.start_date > day or not item.is_due_on(day):
        raise NotDueToday(_("This item is not on your plan for today."))
    now = utcnow()
    # INSERT ... ON CONFLICT: two quick clicks cannot create two rows or fail on the unique key.
    statement = (
        insert_for(ItemLog)
        .values(plan_item_id=item.id, patient_id=patient.id, day=day, done=done, note="", updated_at=now)
        .on_conflict_do_update(index_elements=["plan_item_id", "day"], set_={"done": done, "updated_at": now})
    )
    db.session.execute(statement)
