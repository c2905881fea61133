"""Patients' plans: the coach's roster, assigning a program, and editing a plan safely.

Every change checks the plan version the coach opened (optimistic locking) and bumps it,
so the second of two simultaneous edits is refused instead of silently overwriting the
first. Every change is audited. Functions add to the session; the view commits.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, bindparam, or_
from sqlalchemy.orm import joinedload, selectinload

from portal import audit
from portal.auth.models import Role, User
from portal.care import plan_changes
from portal.care.dosing import Dose, append_library_items, apply_dose, move
from portal.care.models import Plan, PlanItem, PlanStatus, Program
from portal.care.pauses import end_pauses
from portal.care.schedules import SCHEDULE_FIELDS, change_schedule, end_schedules, move_plan_start, start_schedule
from portal.errors import NotFound
from portal.exercises.models import LibraryItem
from portal.extensions import db
from portal.sqlutil import KeptStatement, contains_text
from portal.timeutil import local_today, utcnow

ROSTER_PAGE_SIZE = 25
STALE_MESSAGE = _l(
    "This plan changed since you opened it. Nothing was saved: review the current plan below and make your change again."
)


class PlanChanged(Exception):
    """The plan was changed (or replaced) since the coach opened it."""

    def __init__(self, patient: User) -> None:
        super().__init__(patient.id)
        self.patient = patient


# --- roster ---------------------------------------------------------------------------


def roster_query(coach: User, search: str | None = None) -> Select:
    """Rows (User, Plan or None) of the coach's active patients with their active plan, by name.

    Other features add columns to this query (``.add_columns``) and re-order it; keep it a
    single SELECT so the roster costs the same number of statements for 5 or 500 patients.
    """
    query = roster_statement(coach.id)
    if search:
        query = query.where(or_(contains_text(User.name, search), contains_text(User.email, search)))
    return query


def roster_statement(coach_id) -> Select:
    """``roster_query`` without a search, for a coach's id or a bound parameter standing for it (a kept statement)."""
    return (
        db.select(User, Plan)
        .outerjoin(Plan, and_(Plan.patient_id == User.id, Plan.status == PlanStatus.ACTIVE))
        .where(User.coach_id == coach_id, User.role == Role.PATIENT, User.is_active.is_(True))
        .order_by(User.name, User.id)
    )


# --- reading plans ----------------------------------------------------------------------


def active_plan(patient_id: int) -> Plan | None:
    """The patient's current plan with its items, their library items, the pause each item is
    in (with who paused it) and its coach (one statement)."""
    return db.session.execute(_active_plan_statement(), {"patient_id": patient_id}).unique().scalar_one_or_none()


def _build_active_plan_statement():
    # Every patient page reads the plan: kept (its eager-loading options
    # cost more to build than the query takes to run).
    return (
        db.select(Plan)
        .options(
            joinedload(Plan.items).joinedload(PlanItem.open_pause),
            joinedload(Plan.coach),
        )
        .where(Plan.patient_id == bindparam("patient_id"), Plan.status == PlanStatus.ACTIVE)
    )


_active_plan_statement = KeptStatement(_build_active_plan_statement)


def patient_plan_item(patient_id: int, library_item_id: int) -> PlanItem | None:
    """The patient's active plan item for this library item, if their current plan has it."""
    return db.session.scalar(
        db.select(PlanItem)
        .join(Plan, Plan.id == PlanItem.plan_id)
        .where(
            PlanItem.library_item_id == library_item_id,
            PlanItem.is_active.is_(True),
            Plan.patient_id == patient_id,
            Plan.status == PlanStatus.ACTIVE,
        )
        .limit(1)
    )


def plan_history(patient_id: int) -> list[Plan]:
    """Earlier (ended) plans, newest first, each with its items (read-only history)."""
    return list(db.session.scalars(_plan_history_statement(), {"patient_id": patient_id}))


def _build_plan_history_statement():
    return (
        db.select(Plan)
        .options(selectinload(Plan.items), selectinload(Plan.coach))
        .where(Plan.patient_id == bindparam("patient_id"), Plan.status == PlanStatus.ENDED)
        .order_by(Plan.end_date.desc(), Plan.id.desc())
    )


_plan_history_statement = KeptStatement(_build_plan_history_statement)


def plan_for_edit(patient: User, plan_id: int, expected_version: int | None) -> Plan:
    """The patient's plan for an edit: NotFound if it is not theirs, PlanChanged if it is no longer
    active or its version differs from the one the coach opened."""
    plan = db.session.scalar(
        db.select(Plan).options(selectinload(Plan.items)).where(Plan.id == plan_id, Plan.patient_id == patient.id)
    )
    if plan is None:
        raise NotFound
    if plan.status != PlanStatus.ACTIVE or expected_version is None or plan.version != expected_version:
        raise PlanChanged(patient)
    return plan


def active_plan_item(plan: Plan, item_id: int) -> PlanItem:
    """An active item of this plan; an id from another plan is NotFound."""
    for item in plan.items:
        if item.id == item_id and item.is_active:
            return item
    raise NotFound


def active_items(plan: Plan) -> list[PlanItem]:
    return [item for item in plan.items if item.is_active]


def _item_named(item: PlanItem) -> dict:
    """An item in audit details: its title (what the log shows) and its id (what ties entries together)."""
    return {"item": item.library_item.title, "item_id": item.id}


def _touch(plan: Plan) -> None:
    """Make the flush UPDATE the plan row, so its version goes up with every change (and a
    concurrent save still holding the old version fails with StaleDataError)."""
    plan.updated_at = utcnow()


# --- changing plans ---------------------------------------------------------------------


def assign_program(
    patient: User,
    program: Program,
    coach: User,
    *,
    title: str,
    goals: str,
    start_date: date,
    replaces: Plan | None,
) -> Plan:
    """Create the patient's plan as a copy of the program; the plan it replaces becomes history.

    ``replaces`` is the active plan the coach saw (already version-checked), or None when the
    coach saw none; the unique (patient, active_key) index refuses a second active plan."""
    today = local_today(patient.tz)
    if replaces is not None:
        replaces.status = PlanStatus.ENDED
        replaces.active_key = None
        replaces.end_date = today
        end_pauses(replaces, today)
        end_schedules(replaces, today)
        _touch(replaces)
        audit.record(
            "plan.end",
            replaces,
            actor=coach,
            patient=patient.id,
            plan=replaces.title,
            replaced_by_program=program.name,
            replaced_by_program_id=program.id,
        )
        # The old plan must stop being active before the new one takes the unique slot.
        db.session.flush()
    plan = Plan(
        patient_id=patient.id,
        coach_id=coach.id,
        program_id=program.id,
        title=title or program.name,
        goals=goals,
        start_date=start_date,
        status=PlanStatus.ACTIVE,
        active_key=1,
    )
    skipped = []
    for item in program.items:
        if not item.library_item.is_active:
            skipped.append(item.library_item.title)
            continue
        plan.items.append(
            PlanItem(
                library_item_id=item.library_item_id,
                **Dose.of(item).columns(),
                coach_note=item.note,
                position=len(plan.items),
            )
        )
    for item in plan.items:
        start_schedule(plan, item, start_date)
    db.session.add(plan)
    db.session.flush()
    audit.record(
        "plan.assign",
        plan,
        actor=coach,
        patient=patient.id,
        plan=plan.title,
        program=program.name,
        program_id=program.id,
        start_date=start_date.isoformat(),
        items=len(plan.items),
        skipped_retired=skipped,
    )
    return plan


def update_details(plan: Plan, *, title: str, goals: str, start_date: date, actor: User) -> list[str]:
    changed = [
        name
        for name, value in (("title", title), ("goals", goals), ("start_date", start_date))
        if getattr(plan, name) != value
    ]
    if changed:
        if start_date != plan.start_date:
            move_plan_start(plan, plan.start_date, start_date)
        plan.title, plan.goals, plan.start_date = title, goals, start_date
        _touch(plan)
        audit.record("plan.update", plan, actor=actor, patient=plan.patient_id, plan=plan.title, fields=changed)
    return changed


def end_plan(plan: Plan, actor: User) -> None:
    plan.status = PlanStatus.ENDED
    plan.active_key = None
    plan.end_date = local_today(plan.patient.tz)
    end_pauses(plan, plan.end_date)
    end_schedules(plan, plan.end_date)
    _touch(plan)
    audit.record("plan.end", plan, actor=actor, patient=plan.patient_id, plan=plan.title)


def add_items(plan: Plan, library_items: list[LibraryItem], actor: User) -> tuple[list[PlanItem], list[LibraryItem]]:
    """Add library items with their usual doses at the end of the plan, in the order given.

    Returns the new plan items and the library items skipped because the plan already has them.
    A retired item refuses the whole batch (RetiredItemError) before anything is written."""
    added, skipped = append_library_items(plan.items, library_items, PlanItem, note_attr="coach_note")
    # Due from the day added (or from the plan's start, for a plan that has not started yet).
    joined = max(local_today(plan.patient.tz), plan.start_date)
    for item in added:
        start_schedule(plan, item, joined)
    if added:
        _touch(plan)
        db.session.flush()
    for item in added:
        plan_changes.item_added(item, plan.patient_id)
        audit.record("plan.item_add", plan, actor=actor, patient=plan.patient_id, **_item_named(item))
    return added, skipped


def update_item(plan: Plan, item: PlanItem, dose: Dose, actor: User) -> list[str]:
    """Change an item's dose, schedule and note (DoseError when out of bounds, nothing written)."""
    before = Dose.of(item, note_attr="coach_note").columns()
    changed = apply_dose(item, dose, note_attr="coach_note")
    if any(name in SCHEDULE_FIELDS for name in changed):
        change_schedule(plan, item, local_today(plan.patient.tz))
    if changed:
        _touch(plan)
        plan_changes.item_redosed(item, plan.patient_id, before, changed)
        audit.record(
            "plan.item_update",
            plan,
            actor=actor,
            patient=plan.patient_id,
            **_item_named(item),
            fields=changed,
            before={k: v for k, v in before.items() if k in changed},
        )
    return changed


def remove_item(plan: Plan, item: PlanItem, actor: User) -> None:
    """Take an item off the plan. It stays stored (inactive) so its completion history keeps its meaning."""
    item.is_active = False
    today = local_today(plan.patient.tz)
    end_pauses(plan, today, item)
    end_schedules(plan, today, item)
    _touch(plan)
    plan_changes.item_removed(item, plan.patient_id)
    audit.record("plan.item_remove", plan, actor=actor, patient=plan.patient_id, **_item_named(item))


def move_item(plan: Plan, item: PlanItem, direction: str, actor: User) -> bool:
    moved = move(active_items(plan), item, direction)
    if moved:
        _touch(plan)
        audit.record(
            "plan.item_move", plan, actor=actor, patient=plan.patient_id, **_item_named(item), direction=direction
        )
    return moved
