"""Today's plan for a patient: the items due on their local day and how many sessions are done.

The patient's day is their local date (``local_today(patient.tz)``). Completion is an
ItemLog row per (plan item, day) counting the sessions done that day; an item is done
for the day once every one of its ``times_per_day`` sessions is logged
(``done_for_day``, the one definition). Logging a session, undoing one and setting the
whole day are bounded upserts, so a double click cannot push a count past the dose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import bindparam, case, func
from sqlalchemy.orm import contains_eager, joinedload

from portal.auth.models import User
from portal.care.alerts import (
    RED_FLAG_COLUMNS,
    RedFlagState,
    exercises_paused,
    red_flag_state,
    red_flag_status,
    red_flag_status_statement,
)
from portal.care.models import Alert, AlertKind, ItemLog, Plan, PlanChange, PlanItem, PlanItemPause, PlanStatus
from portal.care.pauses import item_paused
from portal.care.plan_changes import PENDING_COLUMNS, PendingChange, changes_since, pending_changes, pending_condition
from portal.care.plans import active_plan
from portal.exercises.models import KIND_LABELS, ItemKind, LibraryItem
from portal.extensions import db
from portal.sqlutil import KeptStatement, insert_for
from portal.timeutil import local_today, utcnow

GROUP_ORDER = (ItemKind.EXERCISE, ItemKind.POSTURE, ItemKind.DIET)


class CannotMark(ValueError):
    """The item cannot be marked on this day; its message says why. Today, the guided session
    and the API give one answer for it: 409 with this message."""


class NotDueToday(CannotMark):
    """The item is on the patient's plan but not scheduled for this day."""


class ItemPaused(CannotMark):
    """The item is paused: a red flag paused the exercises until the coach checks in, or the
    coach paused this one item."""


class SessionsOverDue(ValueError):
    """A session count above what the item asks for that day."""


# The kinds a red flag pauses; posture habits and nutrition stay available.
PAUSABLE_KINDS = frozenset({ItemKind.EXERCISE.value})


def is_paused(item: PlanItem, paused: bool) -> bool:
    """Whether this item is paused, given whether the patient's exercises are paused."""
    return paused and item.library_item.kind in PAUSABLE_KINDS


def done_for_day(sessions_done: int, times_per_day: int) -> bool:
    """An item is done for the day when every session the plan asks for that day is logged."""
    return sessions_done >= max(times_per_day, 1)


@dataclass
class TodayItem:
    """One of the day's items. ``paused``: held by a red flag (the whole "Stretches & exercises"
    group); ``coach_pause``: this one item paused by the coach, with the reason shown."""

    plan_item: PlanItem
    sessions_done: int = 0
    paused: bool = False
    coach_pause: PlanItemPause | None = None

    @property
    def can_mark(self) -> bool:
        """Whether the patient can log a session of it now (no pause of either kind)."""
        return not self.paused and self.coach_pause is None

    @property
    def times(self) -> int:
        return max(self.plan_item.times_per_day, 1)

    @property
    def done(self) -> bool:
        return done_for_day(self.sessions_done, self.times)

    @property
    def library_item(self) -> LibraryItem:
        return self.plan_item.library_item


def sessions_count(entries: list[TodayItem]) -> tuple[int, int]:
    """(sessions logged, sessions asked) of ``entries``: each item asks its times a day, and
    what it logged counts up to that."""
    return (
        sum(min(entry.sessions_done, entry.times) for entry in entries),
        sum(entry.times for entry in entries),
    )


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
    # The safety advice of the open red-flag alert's tier shows at the top while it is open.
    red_flag: RedFlagState = field(default_factory=RedFlagState)
    # What the coach changed that the patient has not dismissed yet ("What changed in your plan").
    plan_changes: list[PendingChange] = field(default_factory=list)

    @property
    def red_flag_open(self) -> bool:
        return self.red_flag.is_open

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
    def counted(self) -> list[TodayItem]:
        """The items today's count is about: an item the coach paused is shown, not counted."""
        return [entry for entry in self.items if entry.coach_pause is None]

    @property
    def total(self) -> int:
        return len(self.counted)

    @property
    def done_count(self) -> int:
        return sum(1 for entry in self.counted if entry.done)

    @property
    def sessions_total(self) -> int:
        """Sessions the day asks for ("4 of 19 sessions done today")."""
        return sessions_count(self.counted)[1]

    @property
    def sessions_done(self) -> int:
        return sessions_count(self.counted)[0]


def due_items(plan: Plan | None, day: date) -> list[PlanItem]:
    """Active items of the plan scheduled on ``day`` (none before the plan starts), in plan order."""
    if plan is None or plan.start_date > day:
        return []
    return [item for item in plan.items if item.is_active and item.is_due_on(day)]


def sessions_by_item(patient_id: int, day: date) -> dict[int, int]:
    """{plan item id: sessions logged on ``day``} for the patient (one statement)."""
    rows = db.session.execute(_sessions_on_day(), {"patient_id": patient_id, "day": day})
    return {item_id: sessions for item_id, sessions in rows}


# Today runs this on every visit: built once, with the patient and the day bound per request.
def _build_sessions_on_day():
    return db.select(ItemLog.plan_item_id, ItemLog.sessions_done).where(
        ItemLog.patient_id == bindparam("patient_id"), ItemLog.day == bindparam("day"), ItemLog.sessions_done > 0
    )


_sessions_on_day = KeptStatement(_build_sessions_on_day)


def todays_plan(patient: User, day: date | None = None, *, plan_changes: bool = True) -> TodayPlan:
    """What the patient has to do on ``day`` (default: their local today), with sessions done.

    ``plan_changes=False``: without the coach's changes still to tell (left empty), for a page
    that does not show them (the check-in): its statement reads the red flag alone."""
    day = day or local_today(patient.tz)
    plan = active_plan(patient.id)
    due = due_items(plan, day)
    sessions = sessions_by_item(patient.id, day) if due else {}
    changes: list[PendingChange] = []
    if plan_changes:
        rows = db.session.execute(_day_state(), {"patient_id": patient.id, "changes_since": changes_since()}).all()
        red_flag = red_flag_state(rows[0], patient.tz, patient.coach_id)
        changes = pending_changes(plan, (row[RED_FLAG_COLUMNS:] for row in rows))
    else:
        red_flag = red_flag_status(patient.id, patient.tz, patient.coach_id)
    paused = red_flag.exercises_paused
    items = [TodayItem(item, sessions.get(item.id, 0), is_paused(item, paused), item.open_pause) for item in due]
    return TodayPlan(
        day=day,
        plan=plan,
        items=items,
        exercises_paused=paused,
        red_flag=red_flag,
        plan_changes=changes,
    )


def _build_day_state():
    """The one row of ``red_flag_status`` (the open red flag's tier, the pause, the acknowledgement, a resume notice) beside
    each change still to tell (``plan_changes``; NULLs when there is none): one statement."""
    flags = red_flag_status_statement().subquery()
    return (
        db.select(*flags.c, *PENDING_COLUMNS)
        .select_from(flags)
        .outerjoin(PlanChange, pending_condition())
        .order_by(PlanChange.created_at, PlanChange.id)
    )


_day_state = KeptStatement(_build_day_state)


@dataclass(frozen=True)
class Rounds:
    """The guided session's rounds: round r asks one session of every movement due at least r
    times a day. ``done`` rounds are complete; ``total`` is the most times a day of any movement."""

    done: int
    total: int

    @property
    def all_done(self) -> bool:
        return self.done >= self.total

    @property
    def current(self) -> int:
        """The round the patient is in (the first not complete; the last once all are)."""
        return min(self.done + 1, self.total)


def rounds_of(steps: list[TodayItem]) -> Rounds:
    """Complete rounds of the session's ``steps``: the largest r for which every movement has
    r sessions logged (or all its sessions, when it is due fewer than r times a day)."""
    total = max((entry.times for entry in steps), default=0)
    done = 0
    while done < total and all(entry.sessions_done >= min(done + 1, entry.times) for entry in steps):
        done += 1
    return Rounds(done=done, total=total)


def round_items(items: list[PlanItem], rounds: int) -> list[list[PlanItem]]:
    """The items of each of a day's ``rounds`` (the patient's times of day), in ``items``' order:
    round r asks one session of every item due at least r times a day, as the guided session's
    rounds do (an item due more times than there are rounds is in every one)."""
    return [[item for item in items if max(item.times_per_day, 1) >= number] for number in range(1, rounds + 1)]


def next_step(steps: list[TodayItem], after: int) -> int:
    """The guided session's next step (1-based) after step ``after``: the first movement still
    short of a session in the current round; ``len(steps) + 1`` (the summary) when none is."""
    goal = rounds_of(steps).current
    for number in range(after + 1, len(steps) + 1):
        entry = steps[number - 1]
        if entry.sessions_done < min(goal, entry.times):
            return number
    return len(steps) + 1


def session_items(plan_today: TodayPlan) -> list[TodayItem]:
    """The guided session's steps: today's due movements that are not paused, in plan order."""
    return [entry for entry in plan_today.items if entry.library_item.kind == ItemKind.EXERCISE and entry.can_mark]


def open_red_flag(patient_id: int) -> Alert | None:
    """The patient's open red-flag alert (the highest tier if several): what Today's safety box is about."""
    return db.session.scalar(
        db.select(Alert)
        .where(Alert.patient_id == patient_id, Alert.kind == str(AlertKind.RED_FLAG), Alert.open_key == 1)
        .order_by(Alert.severity, Alert.opened_at)
        .limit(1)
    )


def red_flag_pause_started(patient_id: int) -> datetime | None:
    """When the red flag that keeps the patient's exercises paused was raised (None: not paused)."""
    return db.session.scalar(
        db.select(func.min(Alert.opened_at)).where(Alert.patient_id == patient_id, Alert.exercises_paused.is_(True))
    )


def plan_item_for_patient(patient: User, plan_item_id: int) -> PlanItem | None:
    """An active item of the patient's active plan, or None (someone else's item, removed, or ended plan).

    Its plan and its pause come in the same statement: logging a session reads both."""
    return db.session.scalar(
        db.select(PlanItem)
        .join(Plan, Plan.id == PlanItem.plan_id)
        .options(contains_eager(PlanItem.plan), joinedload(PlanItem.open_pause))
        .where(
            PlanItem.id == plan_item_id,
            PlanItem.is_active.is_(True),
            Plan.patient_id == patient.id,
            Plan.status == PlanStatus.ACTIVE,
        )
    )


def _refuse_if_paused(patient: User, item: PlanItem) -> None:
    if item_paused(item):
        raise ItemPaused(_("Your coach has paused this item. It will come back on your plan when they resume it."))
    if is_paused(item, exercises_paused(patient.id)):
        raise ItemPaused(_("This exercise is paused until your coach checks in with you."))


def _check_due(item: PlanItem, day: date) -> None:
    if item.plan.start_date > day or not item.is_due_on(day):
        raise NotDueToday(_("This item is not on your plan for today."))


def _write_sessions(patient: User, item: PlanItem, day: date, first: int, update) -> None:
    """Upsert the day's log: ``first`` sessions on a new row, ``update`` (a SQL expression of
    the stored count) on an existing one; ``done`` follows the count by ``done_for_day``'s rule."""
    times = max(item.times_per_day, 1)
    now = utcnow()
    # INSERT ... ON CONFLICT: two quick clicks cannot create two rows or fail on the unique key,
    # and the count is computed from the stored value, so it cannot run past the dose or below 0.
    statement = insert_for(ItemLog).values(
        plan_item_id=item.id,
        patient_id=patient.id,
        day=day,
        sessions_done=first,
        done=done_for_day(first, times),
        note="",
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["plan_item_id", "day"],
        set_={"sessions_done": update, "done": update >= times, "updated_at": now},
    )
    db.session.execute(statement)


def log_session(patient: User, item: PlanItem, undo: bool = False, day: date | None = None) -> None:
    """Record one more session of the item on the patient's day (or take one back with
    ``undo``), never above its times a day nor below zero. Today's button and the guided
    session both call this (the caller commits). Raises NotDueToday, and ItemPaused for a
    new session of an item a red flag or the coach paused (taking one back is always allowed)."""
    day = day or local_today(patient.tz)
    _check_due(item, day)
    if not undo:
        _refuse_if_paused(patient, item)
    times = max(item.times_per_day, 1)
    stored = ItemLog.__table__.c.sessions_done
    if undo:
        update = case((stored > times, times - 1), (stored > 0, stored - 1), else_=0)
        _write_sessions(patient, item, day, 0, update)
    else:
        update = case((stored >= times, times), else_=stored + 1)
        _write_sessions(patient, item, day, 1, update)


def sessions_logged(item: PlanItem, day: date) -> int:
    """Sessions of the item logged on ``day`` (0 without a log)."""
    stored = db.session.scalar(
        db.select(ItemLog.sessions_done).where(ItemLog.plan_item_id == item.id, ItemLog.day == day)
    )
    return stored or 0


def set_sessions(patient: User, item: PlanItem, sessions: int, day: date | None = None) -> None:
    """Make the day's count exactly ``sessions`` (0 to the item's times a day): sending the same
    count twice leaves one state, so a phone can retry safely (the caller commits).

    Raises SessionsOverDue above the day's sessions, NotDueToday, and ItemPaused when a paused
    item would gain sessions (taking sessions back, or repeating the stored count, is allowed)."""
    day = day or local_today(patient.tz)
    _check_due(item, day)
    times = max(item.times_per_day, 1)
    if sessions < 0 or sessions > times:
        raise SessionsOverDue(
            _("This item asks for %(times)s sessions today: send a number from 0 to %(times)s.", times=times)
        )
    if sessions > sessions_logged(item, day):
        _refuse_if_paused(patient, item)
    _write_sessions(patient, item, day, sessions, sessions)


def set_done(patient: User, item: PlanItem, done: bool, day: date | None = None) -> None:
    """Mark the whole day done (every session) or not done (none); idempotent (the caller commits).

    The check-in's "what did you do today" ticks use this. Raises NotDueToday when the
    item is not scheduled that day or the plan has not started, ItemPaused when a red flag
    or the coach paused it."""
    day = day or local_today(patient.tz)
    _check_due(item, day)
    if done:
        _refuse_if_paused(patient, item)
    times = max(item.times_per_day, 1)
    sessions = times if done else 0
    _write_sessions(patient, item, day, sessions, sessions)
