"""Daily check-ins and weekly outcome checks: reading, saving, and the alerts they raise.

A check-in belongs to the patient's local day. Saving is an upsert on the
(patient, day) unique key, so a double submit or two tabs update one row and
never create a second. The caller (the view) commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam

from portal.auth.models import User
from portal.care import today as today_service
from portal.care.alerts import evaluate_checkin
from portal.care.models import Alert, CheckIn, WeeklyOutcome
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.care.today import TodayPlan
from portal.extensions import db
from portal.sqlutil import KeptStatement, insert_for
from portal.timeutil import local_today, utcnow

CHECKIN_FIELDS = ("pain", "stiffness", "spasm_episodes", "sleep_quality", "water_glasses", "notes", *RED_FLAG_FIELDS)


class CheckInClosed(Exception):
    """A write for a day other than the patient's local today."""


def patient_today(patient: User) -> date:
    return local_today(patient.tz)


def week_start_for(day: date) -> date:
    """The Monday of the week holding ``day``."""
    return day - timedelta(days=day.weekday())


def checkin_for(patient_id: int, day: date) -> CheckIn | None:
    return db.session.scalar(_checkin_on_day(), {"patient_id": patient_id, "day": day})


# Today and the check-in form read the day's check-in on every visit: built once.
def _build_checkin_on_day():
    return db.select(CheckIn).where(CheckIn.patient_id == bindparam("patient_id"), CheckIn.day == bindparam("day"))


_checkin_on_day = KeptStatement(_build_checkin_on_day)


@dataclass
class SaveResult:
    checkin: CheckIn
    created: bool
    alerts: list[Alert] = field(default_factory=list)


def save_checkin(
    patient: User,
    day: date,
    values: dict,
    items_done: set[int] | None = None,
    plan_today: TodayPlan | None = None,
    existing: CheckIn | None = None,
) -> SaveResult:
    """Create or update the patient's check-in for ``day`` (which must be their today).

    ``values`` holds CHECKIN_FIELDS; ``items_done`` the ids of today's due plan
    items the patient ticked (None leaves item logs alone). ``plan_today`` is
    today's plan and ``existing`` the day's saved check-in when the caller already
    loaded them (None: looked up here).
    """
    if day != patient_today(patient):
        raise CheckInClosed(_("Check-ins from earlier days can no longer be changed."))
    checkin = existing if existing is not None and existing.day == day else checkin_for(patient.id, day)
    created = False
    if checkin is None:
        # Insert the row, or do nothing if a concurrent request just did; either
        # way the row then exists exactly once and is updated below.
        now = utcnow()
        result = db.session.connection().execute(
            insert_for(CheckIn)
            .values(patient_id=patient.id, day=day, pain=values["pain"], stiffness=values["stiffness"],
                    created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["patient_id", "day"])
            .returning(CheckIn.id)
        )  # fmt: skip
        created = result.first() is not None
        checkin = checkin_for(patient.id, day)
    for name in CHECKIN_FIELDS:
        if name in values:
            setattr(checkin, name, values[name])
    checkin.updated_at = utcnow()
    if items_done is not None:
        record_items_done(patient, plan_today or today_service.todays_plan(patient, day), items_done)
    db.session.flush()
    alerts = evaluate_checkin(patient, checkin)
    return SaveResult(checkin=checkin, created=created, alerts=alerts)


def record_items_done(patient: User, plan_today: TodayPlan, done_ids: set[int]) -> None:
    """Make today's logs match the ticks: only items due today, only those that changed.

    Reuses Today's idempotent upsert, so ticking here and on Today agree. A paused item is
    not offered on the form, so it is left as it is (its absence is not an untick).
    """
    for entry in plan_today.items:
        if not entry.can_mark:
            continue
        wanted = entry.plan_item.id in done_ids
        if wanted != entry.done:
            today_service.set_done(patient, entry.plan_item, wanted, plan_today.day)


def checkin_history_query(patient_id: int):
    """Check-ins newest first (paginate it)."""
    return db.select(CheckIn).where(CheckIn.patient_id == patient_id).order_by(CheckIn.day.desc())


# --- weekly outcome (PEG) ----------------------------------------------------


def outcome_for_week(patient_id: int, week_start: date) -> WeeklyOutcome | None:
    return db.session.scalar(
        db.select(WeeklyOutcome).where(WeeklyOutcome.patient_id == patient_id, WeeklyOutcome.week_start == week_start)
    )


def save_weekly_outcome(patient: User, values: dict) -> tuple[WeeklyOutcome, bool]:
    """Create or update this week's PEG answers (one per local week)."""
    week = week_start_for(patient_today(patient))
    result = db.session.connection().execute(
        insert_for(WeeklyOutcome)
        .values(patient_id=patient.id, week_start=week, created_at=utcnow(), **values)
        .on_conflict_do_nothing(index_elements=["patient_id", "week_start"])
        .returning(WeeklyOutcome.id)
    )
    created = result.first() is not None
    outcome = outcome_for_week(patient.id, week)
    if not created:
        for name, value in values.items():
            setattr(outcome, name, value)
    db.session.flush()
    return outcome, created
