"""Daily check-ins, the item logs of those days, and the alerts they would have raised."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bench.data.people import PatientSpec
from bench.data.plans import Schedules
from bench.data.writer import BulkWriter
from portal.care.models import Alert, AlertKind, CheckIn, ItemLog, alert_severity
from portal.care.red_flags import RED_FLAG_FIELDS, Tier

CHECKIN_COLUMNS = (
    "id",
    "patient_id",
    "day",
    "pain",
    "stiffness",
    "spasm_episodes",
    "sleep_quality",
    "water_glasses",
    "notes",
    *RED_FLAG_FIELDS,
    "created_at",
    "updated_at",
)
ITEM_LOG_COLUMNS = ("id", "plan_item_id", "patient_id", "day", "done", "pain_during", "updated_at")
ALERT_COLUMNS = (
    "patient_id",
    "kind",
    "summary",
    "checkin_id",
    "opened_at",
    "open_key",
    "resolved_by_id",
    "resolved_at",
    "severity",
    "tier",
)
CHECKIN_NOTES = (
    "Long day at the desk, lower back tight by evening.",
    "Walked the dog twice, felt looser afterwards.",
    "Slept badly, woke up stiff.",
    "Heat pack helped before the stretches.",
    "Lifted groceries carefully, no spasm.",
    "Busy shift on my feet; back ached at the end.",
    "Felt good today.",
    "Drove a lot, took breaks every hour.",
)
BLOCK_PATIENTS = 250  # one write per table per block keeps memory flat


@dataclass(frozen=True)
class Calendar:
    """The days of the period, worked out once instead of once per row."""

    weekday: list[str]  # "0" (Monday) .. "6"
    stamps: list[datetime]  # ~7 pm local: when the day's check-in came in
    day_out: list  # the day as the writer wants it
    stamp_out: list  # the stamp as the writer wants it
    now: datetime

    @property
    def days(self) -> int:
        return len(self.weekday)


def make_calendar(first_day: date, days: int, now: datetime, as_text: bool) -> Calendar:
    """``as_text``: COPY takes text, and formatting each date once is much cheaper than per row."""
    day_list = [first_day + timedelta(days=d) for d in range(days)]
    stamps = [datetime.combine(d, datetime.min.time()) + timedelta(hours=25) for d in day_list]
    return Calendar(
        weekday=[str(d.weekday()) for d in day_list],
        stamps=stamps,
        day_out=[d.isoformat() for d in day_list] if as_text else day_list,
        stamp_out=[s.isoformat(" ") for s in stamps] if as_text else stamps,
        now=now,
    )


@dataclass
class IdCounters:
    """Next primary keys, assigned here so item logs and alerts can point at check-ins."""

    checkin: int
    item_log: int


def write_history(
    writer: BulkWriter,
    patients: Sequence[PatientSpec],
    schedules: Schedules,
    calendar: Calendar,
    ids: IdCounters,
    rng: random.Random,
) -> None:
    """Check-ins and item logs block by block, then all the alerts."""
    alerts: list[tuple] = []
    for start in range(0, len(patients), BLOCK_PATIENTS):
        checkins: list[tuple] = []
        item_logs: list[tuple] = []
        for spec in patients[start : start + BLOCK_PATIENTS]:
            patient_history(spec, schedules[spec.id], calendar, ids, rng, checkins, item_logs, alerts)
        writer.write(CheckIn.__table__, CHECKIN_COLUMNS, checkins)
        writer.write(ItemLog.__table__, ITEM_LOG_COLUMNS, item_logs)
    writer.write(Alert.__table__, ALERT_COLUMNS, alerts)


def patient_history(
    spec: PatientSpec,
    items: list[tuple[int, str]],
    calendar: Calendar,
    ids: IdCounters,
    rng: random.Random,
    checkins: list[tuple],
    item_logs: list[tuple],
    alerts: list[tuple],
) -> None:
    """One patient's days: appends to the three lists (the hot loop of the generator)."""
    rand = rng.random
    away_until = -1
    recent: list[int] = []
    last_day_index = -1
    for d in range(calendar.days):
        if d < away_until:
            continue
        if rand() < 0.01:  # a trip or a bad week: several days without check-ins
            away_until = d + rng.randint(3, 8)
            continue
        if rand() > spec.adherence:
            continue
        pain_f = spec.baseline + spec.slope * d + rng.gauss(0, 0.9)
        pain = min(10, max(0, round(pain_f)))
        red_flag = rand() < 0.002
        checkin_id = ids.checkin
        ids.checkin += 1
        checkins.append(checkin_row(checkin_id, spec.id, pain_f, pain, red_flag, calendar, d, rng))
        if red_flag:
            alerts.append(red_flag_alert(spec, checkin_id, calendar.stamps[d], resolved=d < calendar.days - 2))
        recent.append(pain)
        last_day_index = d
        ids.item_log = log_items(spec, items, pain, calendar, d, ids.item_log, rng, item_logs)
    alerts.extend(trend_alerts(spec, recent, last_day_index, calendar))


def checkin_row(
    checkin_id: int,
    patient_id: int,
    pain_f: float,
    pain: int,
    red_flag: bool,
    calendar: Calendar,
    d: int,
    rng: random.Random,
) -> tuple:
    """A check-in in CHECKIN_COLUMNS order: stiffness, spasms and sleep follow the (unrounded) pain."""
    gauss, rand = rng.gauss, rng.random
    stamp = calendar.stamp_out[d]
    return (
        checkin_id,
        patient_id,
        calendar.day_out[d],
        pain,
        min(10, max(0, round(pain_f + gauss(0.5, 1.0)))),
        max(0, round((pain_f - 3) / 2 + gauss(0, 0.7))),
        min(5, max(1, round(5 - pain_f / 2.5 + gauss(0, 0.6)))),
        3 + int(rand() * 8),
        CHECKIN_NOTES[int(rand() * len(CHECKIN_NOTES))] if rand() < 0.08 else "",
        # The generated red flag is new numbness (a Today-tier answer); every other answer is "no".
        *(red_flag and field == "rf_numbness" for field in RED_FLAG_FIELDS),
        stamp,
        stamp,
    )


def log_items(
    spec: PatientSpec,
    items: list[tuple[int, str]],
    pain: int,
    calendar: Calendar,
    d: int,
    next_id: int,
    rng: random.Random,
    item_logs: list[tuple],
) -> int:
    """The due items the patient did on day ``d``; returns the next free item log id."""
    rand = rng.random
    weekday, day, stamp = calendar.weekday[d], calendar.day_out[d], calendar.stamp_out[d]
    for item_id, weekdays in items:
        if weekday in weekdays and rand() < spec.diligence:
            item_logs.append((next_id, item_id, spec.id, day, True, pain if rand() < 0.2 else None, stamp))
            next_id += 1
    return next_id


def red_flag_alert(spec: PatientSpec, checkin_id: int, at: datetime, *, resolved: bool) -> tuple:
    """Older red flags were handled by the coach three hours later; recent ones are still open."""
    summary = "New numbness or tingling reported"
    if resolved:
        return _alert(
            spec.id,
            AlertKind.RED_FLAG,
            summary,
            checkin_id,
            at,
            resolved_by=spec.coach_id,
            resolved_at=at + timedelta(hours=3),
        )
    return _alert(spec.id, AlertKind.RED_FLAG, summary, checkin_id, at)


def trend_alerts(spec: PatientSpec, recent: list[int], last_day_index: int, calendar: Calendar) -> Iterator[tuple]:
    """Open alerts for pain rising over the last three check-ins and for a run of missed days."""
    if len(recent) >= 3 and recent[-1] >= recent[-2] + 1 >= recent[-3] + 2:
        yield _alert(spec.id, AlertKind.PAIN_WORSENING, "Pain rose over the last three check-ins", None, calendar.now)
    if last_day_index < calendar.days - 3:
        yield _alert(spec.id, AlertKind.MISSED_CHECKINS, "No check-in for 3 days or more", None, calendar.now)


def _alert(
    patient_id: int,
    kind: AlertKind,
    summary: str,
    checkin_id: int | None,
    opened_at: datetime,
    *,
    resolved_by: int | None = None,
    resolved_at: datetime | None = None,
) -> tuple:
    """An alert in ALERT_COLUMNS order; open ones carry open_key 1 (one open alert per kind). The generated red
    flags are new numbness: Today tier."""
    open_key = None if resolved_at else 1
    tier = Tier.TODAY.value if kind == AlertKind.RED_FLAG else None
    return (
        patient_id,
        kind.value,
        summary,
        checkin_id,
        opened_at,
        open_key,
        resolved_by,
        resolved_at,
        alert_severity(kind, tier),
        tier,
    )
