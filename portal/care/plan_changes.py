"""Telling the patient what their coach changed: "What changed in your plan" on Today.

Every coach change to an item (added, removed, paused, resumed, dose or days or note
changed) is kept as a ``PlanChange``; Today lists the ones of the patient's current plan
from the last 7 days that they have not dismissed, each in words in the patient's language
("New: Bird dog, 1 set of 8 reps, weekdays", "Now 2 sets instead of 1: Glute bridge"), with
the coach's note. Functions add to the session or run one statement; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, bindparam, update

from portal.care.models import Plan, PlanChange, PlanChangeKind, PlanItem
from portal.exercises.dosage import ALL_WEEKDAYS, describe_dose, describe_times_per_day, describe_weekdays
from portal.extensions import db
from portal.sqlutil import KeptStatement
from portal.timeutil import utcnow

SHOWN_DAYS = 7
DOSE_FIELDS = ("sets", "reps", "hold_seconds", "times_per_day", "weekdays")


def _dose_of(item: PlanItem) -> dict:
    return {name: getattr(item, name) for name in DOSE_FIELDS}


def record(
    item: PlanItem,
    patient_id: int,
    kind: PlanChangeKind,
    *,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
) -> PlanChange:
    """Keep one change of ``item`` to tell its patient (``plan_item_id`` is read at flush)."""
    change = PlanChange(
        patient_id=patient_id, plan_item=item, kind=str(kind), before=before, after=after, note=note or ""
    )
    db.session.add(change)
    return change


def item_added(item: PlanItem, patient_id: int) -> PlanChange:
    return record(item, patient_id, PlanChangeKind.ADD, after=_dose_of(item), note=item.coach_note)


def item_removed(item: PlanItem, patient_id: int) -> PlanChange:
    return record(item, patient_id, PlanChangeKind.REMOVE)


def item_paused(item: PlanItem, patient_id: int, reason: str) -> PlanChange:
    return record(item, patient_id, PlanChangeKind.PAUSE, note=reason)


def item_resumed(item: PlanItem, patient_id: int) -> PlanChange:
    return record(item, patient_id, PlanChangeKind.RESUME)


def item_redosed(item: PlanItem, patient_id: int, before: dict, changed: list[str]) -> PlanChange | None:
    """A change of dose, days or the coach's note (``changed`` names the fields, ``before`` their
    old values); the note shown is the item's note now, when the coach wrote one."""
    fields = [name for name in changed if name in DOSE_FIELDS]
    note_changed = "coach_note" in changed and bool(item.coach_note)
    if not fields and not note_changed:
        return None  # the note was cleared: nothing to tell
    return record(
        item,
        patient_id,
        PlanChangeKind.DOSE,
        before={name: before.get(name) for name in fields},
        after={name: getattr(item, name) for name in fields},
        note=item.coach_note if note_changed else "",
    )


# --- what Today shows ------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingChange:
    """A change still to tell, with its item (of the patient's current plan)."""

    plan_item: PlanItem
    kind: str
    before: dict | None
    after: dict | None
    note: str


def pending_condition():
    """SQL on ``PlanChange``: a change of ``patient_id`` made since ``changes_since`` and not
    dismissed. (Whether its item is on the current plan is checked against that plan.)"""
    return and_(
        PlanChange.patient_id == bindparam("patient_id"),
        PlanChange.created_at >= bindparam("changes_since"),
        PlanChange.dismissed_at.is_(None),
    )


PENDING_COLUMNS = (PlanChange.plan_item_id, PlanChange.kind, PlanChange.before, PlanChange.after, PlanChange.note)


def changes_since(now: datetime | None = None) -> datetime:
    """The oldest change still told: 7 days before ``now``."""
    return (now or utcnow()) - timedelta(days=SHOWN_DAYS)


def pending_changes(plan: Plan | None, rows) -> list[PendingChange]:
    """The changes to tell from rows of ``PENDING_COLUMNS`` (oldest first), keeping those of
    ``plan``'s items (the current plan; its removed items included)."""
    items = {item.id: item for item in plan.items} if plan is not None else {}
    return [
        PendingChange(items[item_id], kind, before, after, note or "")
        for item_id, kind, before, after, note in rows
        if item_id in items
    ]


def _build_pending_statement():
    return db.select(*PENDING_COLUMNS).where(pending_condition()).order_by(PlanChange.created_at, PlanChange.id)


_pending_statement = KeptStatement(_build_pending_statement)


def recent_changes(plan: Plan | None, patient_id: int, now: datetime | None = None) -> list[PendingChange]:
    """The changes to tell the patient: of their current ``plan``, the last 7 days, not
    dismissed, oldest first (one statement; Today reads the same rows with the red-flag state)."""
    rows = db.session.execute(_pending_statement(), {"patient_id": patient_id, "changes_since": changes_since(now)})
    return pending_changes(plan, rows)


def dismiss_changes(patient_id: int, now: datetime | None = None) -> int:
    """The patient closed the box: every change shown so far stays out of it (one UPDATE)."""
    result = db.session.execute(
        update(PlanChange)
        .where(PlanChange.patient_id == patient_id, PlanChange.dismissed_at.is_(None))
        .values(dismissed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# --- in words ----------------------------------------------------------------------------------


def _days_words(weekdays: str) -> str:
    words = describe_weekdays(weekdays)
    # "Every day" / "Weekdays" read inside a sentence in lower case; day names keep theirs.
    return words.lower() if weekdays in (ALL_WEEKDAYS, "01234", "56") else words


def _value_words(name: str, value) -> str:
    if name == "sets":
        return ngettext("%(num)d set", "%(num)d sets", value or 0)
    if name == "reps":
        return ngettext("%(num)d rep", "%(num)d reps", value or 0)
    if name == "hold_seconds":
        return describe_dose(None, None, value, None) if value else _("no hold")
    if name == "times_per_day":
        return describe_times_per_day(value or 1)
    return _days_words(value or ALL_WEEKDAYS)


def _old_words(name: str, value) -> str:
    # "2 sets instead of 1": a count's old value reads as the bare number.
    if name in ("sets", "reps"):
        return str(value or 0)
    return _value_words(name, value)


def describe_change(change: PendingChange | PlanChange, title: str) -> str:
    """The change in the reader's language, naming the item by ``title``."""
    kind = change.kind
    if kind == PlanChangeKind.ADD:
        dose = change.after or {}
        parts = [title]
        words = describe_dose(dose.get("sets"), dose.get("reps"), dose.get("hold_seconds"), None)
        if words:
            parts.append(words)
        if (dose.get("times_per_day") or 1) > 1:
            parts.append(describe_times_per_day(dose["times_per_day"]))
        parts.append(_days_words(dose.get("weekdays") or ALL_WEEKDAYS))
        return _("New: %(what)s", what=", ".join(parts))
    if kind == PlanChangeKind.REMOVE:
        return _("Removed: %(title)s", title=title)
    if kind == PlanChangeKind.PAUSE:
        return _("Paused: %(title)s", title=title)
    if kind == PlanChangeKind.RESUME:
        return _("Back on your plan: %(title)s", title=title)
    before, after = change.before or {}, change.after or {}
    changes = [
        _("%(new)s instead of %(old)s", new=_value_words(name, after.get(name)), old=_old_words(name, before.get(name)))
        for name in DOSE_FIELDS
        if name in after
    ]
    if not changes:
        return _("New note from your coach: %(title)s", title=title)
    return _("Now %(changes)s: %(title)s", changes=", ".join(changes), title=title)
