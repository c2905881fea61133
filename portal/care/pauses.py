"""Pausing and resuming a single plan item, with the reason the patient is shown.

A pause is a period (``PlanItemPause``) in the patient's local days: paused from the day
the coach pauses, due again from the day the coach resumes. While paused, the item stays
on the plan but cannot be marked done, leaves the guided session and today's count, and
is not counted as due by adherence. Every change goes through the plan's optimistic
locking (the caller version-checks the plan; this bumps it) and is audited. Functions add
to the session; the view commits.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import and_, case, exists, or_, update

from portal import audit
from portal.auth.models import User
from portal.care import plan_changes
from portal.care.models import ItemLog, Plan, PlanItem, PlanItemPause
from portal.errors import BadInput
from portal.extensions import db
from portal.timeutil import local_today, utcnow

MAX_REASON = 200


class PauseError(Exception):
    """A pause or resume that does not fit the item's state (already paused, not paused)."""


def _bump(plan: Plan) -> None:
    """Make the flush UPDATE the plan row, so its version goes up as with every plan edit."""
    plan.updated_at = utcnow()


def pause_item(plan: Plan, item: PlanItem, reason: str, actor: User) -> PlanItemPause:
    """Pause ``item`` from the patient's local today with ``reason`` (shown to the patient).

    PauseError when it is already paused. The unique (item, open_key) index refuses a
    second pause that a concurrent request would slip in."""
    if item.open_pause is not None:
        raise PauseError(_("“%(title)s” is already paused.", title=item.library_item.title))
    reason = " ".join(reason.split())
    if not reason:
        raise BadInput(_("Write the reason the patient will see."))
    if len(reason) > MAX_REASON:
        raise BadInput(_("Keep the reason under %(count)s characters.", count=MAX_REASON))
    pause = PlanItemPause(
        plan_item_id=item.id,
        started_on=local_today(plan.patient.tz),
        reason=reason,
        paused_by_id=actor.id,
        open_key=1,
    )
    db.session.add(pause)
    plan_changes.item_paused(item, plan.patient_id, reason)
    _bump(plan)
    db.session.flush()
    audit.record(
        "plan.item_pause",
        plan,
        actor=actor,
        patient=plan.patient_id,
        item=item.library_item.title,
        item_id=item.id,
        reason=reason,
    )
    return pause


def resume_item(plan: Plan, item: PlanItem, actor: User) -> PlanItemPause:
    """End the item's pause: due again from the patient's local today. PauseError when not paused."""
    pause = item.open_pause
    if pause is None:
        raise PauseError(_("“%(title)s” is not paused.", title=item.library_item.title))
    pause.ended_on = max(local_today(plan.patient.tz), pause.started_on)
    pause.ended_at = utcnow()
    pause.resumed_by_id = actor.id
    pause.open_key = None
    plan_changes.item_resumed(item, plan.patient_id)
    _bump(plan)
    db.session.flush()
    audit.record(
        "plan.item_resume", plan, actor=actor, patient=plan.patient_id, item=item.library_item.title, item_id=item.id
    )
    return pause


def end_pauses(plan: Plan, day: date, item: PlanItem | None = None) -> None:
    """Close the pauses still open on the plan's items (or on ``item`` only) on ``day``: the item
    left the plan or the plan ended, so its pause history ends there (nobody resumed it). One UPDATE."""
    items = db.select(PlanItem.id).where(PlanItem.plan_id == plan.id)
    if item is not None:
        items = items.where(PlanItem.id == item.id)
    db.session.execute(
        update(PlanItemPause)
        .where(PlanItemPause.plan_item_id.in_(items.scalar_subquery()), PlanItemPause.open_key == 1)
        .values(
            ended_on=case((PlanItemPause.started_on > day, PlanItemPause.started_on), else_=day),
            ended_at=utcnow(),
            open_key=None,
        )
        .execution_options(synchronize_session=False)
    )


def item_paused(item: PlanItem) -> bool:
    """Whether a coach has paused this item now (loads its pause if the plan query did not)."""
    return item.open_pause is not None


# --- for the adherence arithmetic ---------------------------------------------------------


def paused_periods_between(item_id, start: date, end: date):
    """Join condition: pause periods of the plan item ``item_id`` (a column) that cover at least
    one day of [start, end]."""
    return and_(
        PlanItemPause.plan_item_id == item_id,
        PlanItemPause.started_on <= end,
        or_(PlanItemPause.ended_on.is_(None), PlanItemPause.ended_on > start),
    )


def logged_on_paused_day():
    """WHERE clause on ``ItemLog``: the log's day falls in a pause of its item.

    Sessions logged on a paused day (before the coach paused that day) are not counted
    as done, as that day is not counted as due: a paused day stays out of adherence whole.
    """
    return exists().where(
        PlanItemPause.plan_item_id == ItemLog.plan_item_id,
        PlanItemPause.started_on <= ItemLog.day,
        or_(PlanItemPause.ended_on.is_(None), PlanItemPause.ended_on > ItemLog.day),
    )


def merged_periods(periods: list[tuple[date, date | None]]) -> list[tuple[date, date | None]]:
    """Pause periods [start, end) sorted and merged, so no paused day is counted twice
    (periods of one item could overlap if the patient's time zone moved them)."""
    merged: list[tuple[date, date | None]] = []
    for start, end in sorted(periods, key=lambda period: period[0]):
        if end is not None and end <= start:
            continue  # paused and resumed the same day: no whole day paused
        if merged and (merged[-1][1] is None or start <= merged[-1][1]):
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, None if last_end is None or end is None else max(last_end, end))
        else:
            merged.append((start, end))
    return merged
