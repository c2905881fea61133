"""Progress figures: chart series, streaks and adherence, aggregated in SQL.

Every function issues a fixed number of queries whatever the number of
check-ins or logs. Adherence needs the plan's schedule (which weekdays an item
is due, how many times a day): each item's effective-dated schedule rows
(portal.care.schedules) are expanded over the days of the window in Python, while
completions are counted by GROUP BY in the database, each day's log against the row
in force that day. Every day counts against the plan and schedule in force then: an
item from the day it joined the plan until the day it left it, a replaced or ended
plan over its own days.

Days on which a coach had paused an item (its pause periods, read in the same query
as the schedule rows) are neither due nor counted as done. A day's done sessions
never exceed that day's due ones, so no figure goes above 100 %.

A day in progress is not held against the patient: a day counts every occurrence its
schedule asks for once it is over in the patient's time zone; until then (the patient's
today, or a later day a window reaches) an occurrence counts as due only once it is done.
So an item added today, or today's items not done yet, leave a figure where it was, and a
session done today raises it. The rule lives in one place, ``ItemSchedule.due`` (and
``scheduled``): the schedule queries read each patient's time zone, and the done-count
query reports the sessions of each day from the earliest patient's today on separately.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import Date, String, and_, bindparam, case, cast, func, or_

from portal.auth.models import Clinic, User
from portal.care.models import (
    CheckIn,
    ItemLog,
    Plan,
    PlanItem,
    PlanItemPause,
    PlanItemSchedule,
    PlanStatus,
    WeeklyOutcome,
    peg_score,
)
from portal.care.pauses import logged_on_paused_day, merged_periods, paused_periods_between
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.errors import BadInput
from portal.extensions import db
from portal.sqlutil import DIALECTS, PATIENT_IDS, KeptStatement, day_number, dialect_name, week_number, week_of
from portal.timeutil import local_today

CHART_RANGES = (30, 90)
ADHERENCE_WEEKS = 12
PEG_WEEKS = 26


def chart_days(raw: str | None) -> int:
    """The chart window from a ?days= value (30 when absent); anything else is BadInput."""
    if raw is None:
        return CHART_RANGES[0]
    if not raw.isdigit() or int(raw) not in CHART_RANGES:
        raise BadInput(_("Charts cover the last 30 or 90 days."))
    return int(raw)


# --- plan schedule -------------------------------------------------------------


# The statements below run on every progress, roster and patient page: each is kept (built once per
# app) with bound parameters (patient ids, start, end), since building a SELECT and its cache
# key in SQLAlchemy costs more than PostgreSQL takes to run it.
_START = bindparam("start")
_END = bindparam("end")


def _window(patient_ids: list[int], start: date, end: date) -> dict:
    return {"patient_ids": patient_ids, "start": start, "end": end}


def _schedules_between() -> tuple:
    """Where-clauses: schedule rows of the patients' plan items in force on a day of [start, end],
    whichever plan they belong to (a replaced or ended plan keeps its days)."""
    return (
        PlanItemSchedule.patient_id.in_(PATIENT_IDS),
        PlanItemSchedule.valid_from <= _END,
        or_(PlanItemSchedule.valid_to.is_(None), PlanItemSchedule.valid_to > _START),
    )


Periods = list[tuple[date, date | None]]
# A run of days [valid_from, valid_to) with the days of the week and the times a day in force.
Segment = tuple[str, int, date, date | None]


@dataclass
class ItemSchedule:
    """One plan item's schedule rows and pause periods that touch a window.

    ``in_progress_from`` is the patient's local today: from that day on, a day is not over
    and counts only what was done (``in_progress``: sessions counted per such day, filled
    by the done-count query of the window)."""

    patient_id: int
    item: PlanItem | int  # the item (pages that name it) or its id (the roster)
    current: bool = True  # on the patient's plan now
    segments: list[Segment] = field(default_factory=list)
    pauses: Periods = field(default_factory=list)
    in_progress_from: date = date.max
    in_progress: dict[date, int] = field(default_factory=dict)

    @property
    def item_id(self) -> int:
        return getattr(self.item, "id", self.item)

    def due(self, start: date, end: date) -> int:
        """Sessions due in [start, end]: each day that is over against the row in force, paused
        days left out; a day in progress only with the sessions done on it."""
        last_over = min(end, self.in_progress_from - timedelta(days=1))
        return self._done_in_progress(start, end) + sum(
            _due_days(weekdays, first, _last_day(until), self.pauses, start, last_over) * max(times, 1)
            for weekdays, times, first, until in self.segments
        )

    def scheduled(self, start: date, end: date) -> int:
        """Like ``due``, pauses ignored (what would have been due but for the coach's pauses)."""
        last_over = min(end, self.in_progress_from - timedelta(days=1))
        return self._done_in_progress(start, end) + sum(
            _due_count(weekdays, first, _last_day(until), start, last_over) * max(times, 1)
            for weekdays, times, first, until in self.segments
        )

    def _done_in_progress(self, start: date, end: date) -> int:
        return sum(sessions for day, sessions in self.in_progress.items() if start <= day <= end)

    def touches(self, start: date, end: date) -> bool:
        """Whether one of its rows is in force on a day of [start, end]."""
        return any(first <= end and (until is None or until > start) for _w, _t, first, until in self.segments)


def _last_day(until: date | None) -> date | None:
    return None if until is None else until - timedelta(days=1)


def _patient_zone():
    """The patient's time zone as SQL: their own, else their clinic's (as ``User.tz``; the
    practice's when neither names a zone, in Python). Read per schedule row through the
    patient's primary key: joined instead, the database may read every patient of the practice."""
    return (
        db.select(func.coalesce(func.nullif(User.timezone, ""), Clinic.timezone))
        .select_from(User)
        .outerjoin(Clinic, Clinic.id == User.clinic_id)
        .where(User.id == PlanItemSchedule.patient_id)
        .correlate(PlanItemSchedule)
        .scalar_subquery()
    )


def _fold(rows, current_column: bool) -> list[ItemSchedule]:
    """Rows (patient id, time zone, item or id, [current,] weekdays, times, from, until, paused
    from, paused until), one per schedule row and pause period (outer join: NULL pauses), folded
    into one ItemSchedule per item with its rows in order, its pause periods merged and the
    patient's today (the first day in progress)."""
    folded: dict[int, ItemSchedule] = {}
    todays: dict[str | None, date] = {}
    for row in rows:
        pid, zone, item, *rest = row
        current = rest.pop(0) if current_column else True
        weekdays, times, first, until, paused_from, paused_until = rest
        key = getattr(item, "id", item)
        entry = folded.get(key)
        if entry is None:
            if zone not in todays:
                todays[zone] = local_today(zone)
            entry = folded[key] = ItemSchedule(pid, item, bool(current), in_progress_from=todays[zone])
        segment = (weekdays, times, first, until)
        if segment not in entry.segments:
            entry.segments.append(segment)
        if paused_from is not None and (paused_from, paused_until) not in entry.pauses:
            entry.pauses.append((paused_from, paused_until))
    for entry in folded.values():
        entry.segments.sort(key=lambda segment: segment[2])
        entry.pauses = merged_periods(entry.pauses)
    return list(folded.values())


def _plan_items(patient_ids: list[int], start: date, end: date) -> list[ItemSchedule]:
    """Every plan item of the patients in force on a day of [start, end] (ORM items, with their
    library texts), its schedule rows and pause periods in the window: one query. Items on the
    plan now come first, in plan order."""
    if not patient_ids:
        return []
    rows = db.session.execute(_plan_items_statement(), _window(patient_ids, start, end)).all()
    return _fold(rows, current_column=True)


def _build_plan_items_statement():
    current = and_(PlanItem.is_active.is_(True), Plan.status == PlanStatus.ACTIVE)
    statement = (
        db.select(
            PlanItemSchedule.patient_id,
            _patient_zone(),
            PlanItem,
            current.label("current"),
            PlanItemSchedule.weekdays,
            PlanItemSchedule.times_per_day,
            PlanItemSchedule.valid_from,
            PlanItemSchedule.valid_to,
            PlanItemPause.started_on,
            PlanItemPause.ended_on,
        )
        .join(PlanItem, PlanItem.id == PlanItemSchedule.plan_item_id)
        .join(Plan, Plan.id == PlanItem.plan_id)
        .outerjoin(PlanItemPause, paused_periods_between(PlanItemSchedule.plan_item_id, _START, _END))
        .where(*_schedules_between())
        .order_by(
            PlanItemSchedule.patient_id,
            case((current, 0), else_=1),
            PlanItem.position,
            PlanItem.id,
            PlanItemSchedule.valid_from,
        )
    )
    return statement


_plan_items_statement = KeptStatement(_build_plan_items_statement)


# --- adherence -----------------------------------------------------------------


@dataclass
class ItemAdherence:
    item: PlanItem
    due: int
    done: int
    current: bool = True  # False: no longer on the patient's plan (removed, or an earlier plan's)

    @property
    def percent(self) -> int | None:
        return round(100 * self.done / self.due) if self.due else None


def _done_counts(
    patient_ids: list[int],
    start: date,
    end: date,
    items: list[ItemSchedule],
    by_week: bool = False,
    recent_from: date | None = None,
) -> dict:
    """Sessions done per (plan item[, week][, recent]) in [start, end], summed in SQL: each day's log counts
    up to the times a day of the schedule row in force that day, and not at all on a day that row
    does not ask for. Sessions logged on a paused day are left out; that check is only added when
    one of ``items`` was paused in the window, so the usual case pays nothing for it.

    The sessions of each day from the earliest of the patients' todays on come back per day:
    those of a day in progress for its patient fill its item's ``in_progress``, what ``due``
    counts for that day.

    With ``recent_from`` (and ``by_week``) each key ends with whether its days are from that day
    on: the progress page reads its weekly chart and its last four weeks per item in one statement."""
    if not patient_ids or not items:
        return {}
    any_paused = any(entry.pauses for entry in items)
    # Day arithmetic differs between the databases: the statement is built per dialect.
    split = recent_from is not None
    variant = (any_paused, by_week, dialect_name()) + ((True,) if split else ())
    statement = _done_counts_statement(*variant)
    in_progress_from = min(entry.in_progress_from for entry in items)
    window = {**_window(patient_ids, start, end), "in_progress_from": in_progress_from}
    if split:
        window["recent_from"] = recent_from
    by_item = {entry.item_id: entry for entry in items}
    done: dict = defaultdict(int)
    for *key, day, sessions in db.session.execute(statement, window).all():
        done[tuple(key) if len(key) > 1 else key[0]] += int(sessions)
        entry = by_item.get(key[0])
        if day is not None and entry is not None and day >= entry.in_progress_from:
            entry.in_progress[day] = int(sessions)
    return dict(done)


def _build_done_counts_statement(any_paused: bool, by_week: bool, dialect: str, split: bool = False):
    weekday = cast(day_number(ItemLog.day, dialect) % 7, String)  # Monday=0, as the schedule's digits
    times = PlanItemSchedule.times_per_day
    counted = case(
        (~PlanItemSchedule.weekdays.contains(weekday), 0),
        (ItemLog.sessions_done > times, times),
        else_=ItemLog.sessions_done,
    )
    # Days from the earliest patient's today on are kept apart (each may be a day in progress);
    # grouped in an outer query, as PostgreSQL cannot match a GROUP BY holding a bound value.
    recent_day = case((ItemLog.day >= bindparam("in_progress_from", type_=Date), ItemLog.day), else_=None)
    columns = [ItemLog.plan_item_id.label("item")]
    if by_week:
        columns.append(week_number(ItemLog.day, dialect).label("week"))
    if split:
        columns.append(case((ItemLog.day >= bindparam("recent_from", type_=Date), 1), else_=0).label("recent"))
    columns += [recent_day.label("day"), counted.label("counted")]
    conditions = [
        ItemLog.patient_id.in_(PATIENT_IDS),
        ItemLog.sessions_done > 0,
        ItemLog.day >= _START,
        ItemLog.day <= _END,
    ]
    if any_paused:
        conditions.append(~logged_on_paused_day())
    # The rows of these patients in the window (the page's few, by the patient index) are the
    # ones a log can fall in: said outright, so no plan reads every patient's schedule rows.
    conditions.extend(_schedules_between())
    in_force = and_(
        PlanItemSchedule.plan_item_id == ItemLog.plan_item_id,
        PlanItemSchedule.valid_from <= ItemLog.day,
        or_(PlanItemSchedule.valid_to.is_(None), PlanItemSchedule.valid_to > ItemLog.day),
    )
    logs = db.select(*columns).join(PlanItemSchedule, in_force).where(*conditions).subquery()
    keys = [logs.c.item] + ([logs.c.week] if by_week else []) + ([logs.c.recent] if split else []) + [logs.c.day]
    return db.select(*keys, func.sum(logs.c.counted)).group_by(*keys)


_done_counts_statement = KeptStatement(
    _build_done_counts_statement,
    variants=[(p, w, d) for p in (False, True) for w in (False, True) for d in DIALECTS]
    + [(p, True, d, True) for p in (False, True) for d in DIALECTS],
)


def item_adherence(
    patient_id: int, start: date, end: date, items: list[ItemSchedule] | None = None, done: dict | None = None
) -> list[ItemAdherence]:
    """Per plan item: due and done sessions in the window (two queries; one given ``items``, none
    given ``done`` too: its sessions per item, as ``_done_counts`` counts them for the window).

    The items on the plan now, and any other item (removed, or an earlier plan's) that was due
    on a day of the window."""
    items = _plan_items([patient_id], start, end) if items is None else items
    items = [entry for entry in items if entry.current or entry.touches(start, end)]
    if done is None:
        done = _done_counts([patient_id], start, end, items)
    result = []
    for entry in items:
        due = entry.due(start, end)
        if entry.current or due:
            result.append(
                ItemAdherence(item=entry.item, due=due, done=done.get(entry.item_id, 0), current=entry.current)
            )
    return result


def _schedules(patient_ids: list[int], start: date, end: date) -> list[ItemSchedule]:
    """Like ``_plan_items`` but only the columns a schedule needs (the item's id, not the item):
    the roster needs no ORM objects or library texts, and reads the schedule rows alone."""
    return _fold(db.session.execute(_schedules_statement(), _window(patient_ids, start, end)).all(), False)


def _build_schedules_statement():
    statement = (
        db.select(
            PlanItemSchedule.patient_id,
            _patient_zone(),
            PlanItemSchedule.plan_item_id,
            PlanItemSchedule.weekdays,
            PlanItemSchedule.times_per_day,
            PlanItemSchedule.valid_from,
            PlanItemSchedule.valid_to,
            PlanItemPause.started_on,
            PlanItemPause.ended_on,
        )
        .outerjoin(PlanItemPause, paused_periods_between(PlanItemSchedule.plan_item_id, _START, _END))
        .where(*_schedules_between())
    )
    return statement


_schedules_statement = KeptStatement(_build_schedules_statement)


def _due_count(weekdays: str, first_day: date, last_day: date | None, start: date, end: date) -> int:
    """How many days in [start, end] (within [first_day, last_day]) fall on one of ``weekdays`` (Mon=0)."""
    first = max(start, first_day)
    last = min(end, last_day) if last_day else end
    if last < first:
        return 0
    span = (last - first).days + 1
    full_weeks, rest = divmod(span, 7)
    count = full_weeks * len(set(weekdays))
    for offset in range(rest):
        if str((first.weekday() + offset) % 7) in weekdays:
            count += 1
    return count


def _due_days(weekdays: str, first_day: date, last_day: date | None, pauses: Periods, start: date, end: date) -> int:
    """Like ``_due_count``, less the due days that fall in one of the (merged) pause periods."""
    due = _due_count(weekdays, first_day, last_day, start, end)
    for paused_from, paused_until in pauses:
        last_paused = paused_until - timedelta(days=1) if paused_until is not None else None
        lo = max(paused_from, first_day)
        hi = last_day if last_paused is None else (last_paused if last_day is None else min(last_paused, last_day))
        if hi is None or hi >= lo:
            due -= _due_count(weekdays, lo, hi, start, end)
    return due


def adherence_by_patient(patient_ids: list[int], start: date, end: date) -> dict[int, tuple[int, int]]:
    """{patient id: (due, done)} over the window for a whole page of patients (two queries)."""
    return {pid: (due, done) for pid, (due, done, _paused) in adherence_and_pauses(patient_ids, start, end).items()}


def adherence_and_pauses(patient_ids: list[int], start: date, end: date) -> dict[int, tuple[int, int, int]]:
    """{patient id: (due, done, paused)}: ``paused`` counts the sessions that would have been
    due but for a coach's pause (so "nothing due" can say why). Two queries."""
    if not patient_ids:
        return {}
    items = _schedules(patient_ids, start, end)
    done = _done_counts(patient_ids, start, end, items)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for entry in items:
        scheduled = entry.scheduled(start, end)
        due = entry.due(start, end) if entry.pauses else scheduled
        totals[entry.patient_id][0] += due
        totals[entry.patient_id][1] += done.get(entry.item_id, 0)
        totals[entry.patient_id][2] += scheduled - due
    return {pid: (due, done_, paused) for pid, (due, done_, paused) in totals.items()}


def _add_due_by_week(entry: ItemSchedule, start: date, end: date, due_week: list[int]) -> None:
    """Add ``entry.due(monday, min(end, sunday))`` of each Monday-based week of [start, end]
    (``start`` a Monday) to ``due_week[i]``, i the week's number from ``start``, in one pass over
    the item's rows instead of one ``due`` per week and item (12 x items on every progress page):
    each row's days that are over, less its pause periods, are cut at the week boundaries, whole
    weeks counting the row's days a week and the two ends with weekday arithmetic; a day in
    progress adds the sessions done on it, as in ``due``."""
    last_over = min(end, entry.in_progress_from - timedelta(days=1))
    for weekdays, times, first, until in entry.segments:
        last = _last_day(until)
        lo = max(start, first)
        hi = last_over if last is None else min(last_over, last)
        per_day = max(times, 1)
        whole_week = len(set(weekdays)) * per_day
        for run_first, run_last in _unpaused_runs(lo, hi, entry.pauses):
            first_week = (run_first - start).days // 7
            last_week = (run_last - start).days // 7
            first_sunday = start + timedelta(days=7 * first_week + 6)
            if first_week == last_week:
                due_week[first_week] += _due_count(weekdays, run_first, run_last, run_first, run_last) * per_day
                continue
            due_week[first_week] += _due_count(weekdays, run_first, first_sunday, run_first, run_last) * per_day
            for week in range(first_week + 1, last_week):
                due_week[week] += whole_week
            last_monday = start + timedelta(days=7 * last_week)
            due_week[last_week] += _due_count(weekdays, last_monday, run_last, run_first, run_last) * per_day
    for day, sessions in entry.in_progress.items():
        if start <= day <= end:
            due_week[(day - start).days // 7] += sessions


def _unpaused_runs(first: date, last: date, pauses: Periods) -> list[tuple[date, date]]:
    """The runs of days of [first, last] outside the (merged, sorted) pause periods [from, until)."""
    runs = []
    for paused_from, paused_until in pauses:
        if first > last:
            return runs
        if paused_from > first:
            runs.append((first, min(last, paused_from - timedelta(days=1))))
        if paused_until is None:
            return runs
        first = max(first, paused_until)
    if first <= last:
        runs.append((first, last))
    return runs


def adherence_window(today: date, weeks: int = ADHERENCE_WEEKS) -> date:
    """First day (a Monday) of the weekly adherence chart."""
    return today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)


def weekly_adherence(
    patient_id: int,
    today: date,
    weeks: int = ADHERENCE_WEEKS,
    items: list[ItemSchedule] | None = None,
    done: dict | None = None,
) -> list[dict]:
    """[{week_start, due, done, percent}] for the last ``weeks`` Monday-based weeks, each day
    counted against the plan and schedule in force that day (``done``: the sessions per (item,
    week) of the window when the caller counted them with ``items``)."""
    end = today
    start = adherence_window(today, weeks)
    # The chart alone needs the schedule rows, not the items (ORM objects with their library texts).
    items = _schedules([patient_id], start, end) if items is None else items
    if done is None:
        done = _done_counts([patient_id], start, end, items, by_week=True)
    due_week = [0] * weeks
    for entry in items:
        _add_due_by_week(entry, start, end, due_week)
    done_week: dict[date, int] = defaultdict(int)
    for (_item_id, week), sessions in done.items():
        done_week[week] += sessions
    result = []
    for i in range(weeks):
        monday = start + timedelta(weeks=i)
        due = due_week[i]
        got = done_week.get(week_of(monday), 0)
        result.append(
            {"week_start": monday, "due": due, "done": got, "percent": round(100 * got / due) if due else None}
        )
    # The chart starts at the plan's start: weeks before anything was due are not drawn as empty.
    while len(result) > 1 and result[0]["due"] == 0 and result[0]["done"] == 0:
        result.pop(0)
    return result


# --- check-in series, streak, summary -------------------------------------------


def checkin_series(patient_id: int, start: date, end: date) -> list:
    """Rows (day, pain, stiffness, spasm_episodes) of the window, oldest first."""
    return db.session.execute(_checkin_series_statement(), {"patient_id": patient_id, "start": start, "end": end}).all()


def _series_columns() -> tuple:
    return CheckIn.day, CheckIn.pain, CheckIn.stiffness, CheckIn.spasm_episodes


def _build_checkin_series_statement():
    return db.select(*_series_columns()).where(_in_window()).order_by(CheckIn.day)


_checkin_series_statement = KeptStatement(_build_checkin_series_statement)


def streaks(patient_id: int, today: date) -> tuple[int, int]:
    """(current streak, longest streak) of consecutive check-in days.

    Gaps-and-islands in SQL: day number minus row number is constant within a run
    of consecutive days. The current streak counts if its last day is today or
    yesterday (today's check-in may still come).
    """
    longest, current = db.session.execute(
        _streaks_statement(dialect_name()),
        {"patient_id": patient_id, "today": today, "yesterday": today - timedelta(days=1)},
    ).one()
    return int(current or 0), int(longest or 0)


def _build_streaks_statement(dialect: str):
    # Day arithmetic differs between the databases: one statement per dialect.
    numbered = (
        db.select(
            CheckIn.day.label("day"),
            (day_number(CheckIn.day, dialect) - func.row_number().over(order_by=CheckIn.day)).label("grp"),
        )
        .where(CheckIn.patient_id == bindparam("patient_id"), CheckIn.day <= bindparam("today"))
        .subquery()
    )
    runs = (
        db.select(func.count().label("length"), func.max(numbered.c.day).label("last_day"))
        .group_by(numbered.c.grp)
        .subquery()
    )
    return db.select(
        func.max(runs.c.length),
        func.max(case((runs.c.last_day >= bindparam("yesterday", type_=Date), runs.c.length), else_=0)),
    )


_streaks_statement = KeptStatement(_build_streaks_statement, variants=[(dialect,) for dialect in DIALECTS])


@dataclass
class Summary:
    days: int
    checkins: int = 0
    pain_avg: float | None = None
    stiffness_avg: float | None = None
    spasms_total: int = 0
    pain_first_week: float | None = None
    pain_last_week: float | None = None
    red_flag_days: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def pain_change(self) -> float | None:
        if self.pain_first_week is None or self.pain_last_week is None:
            return None
        return round(self.pain_last_week - self.pain_first_week, 1)


def _avg(value) -> float | None:
    return None if value is None else round(float(value), 1)


def _summary_window(patient_id: int, start: date, end: date) -> dict:
    return {
        "patient_id": patient_id,
        "start": start,
        "end": end,
        "first_week_end": start + timedelta(days=6),
        "last_week_start": end - timedelta(days=6),
    }


def summary(patient_id: int, start: date, end: date) -> Summary:
    """Averages and counts for the window in one aggregate query."""
    row = db.session.execute(_summary_statement(), _summary_window(patient_id, start, end)).one()
    return _summary_of(start, end, *row)


def _summary_of(start: date, end: date, count, pain, stiffness, spasms, pain_first, pain_last, red) -> Summary:
    """The Summary of ``_summary_columns``' values (all None: no check-in in the window)."""
    return Summary(
        days=(end - start).days + 1,
        checkins=int(count or 0),
        pain_avg=_avg(pain),
        stiffness_avg=_avg(stiffness),
        spasms_total=int(spasms or 0),
        pain_first_week=_avg(pain_first),
        pain_last_week=_avg(pain_last),
        red_flag_days=int(red or 0),
    )


def _summary_columns() -> list:
    """The summary's aggregates over the window's check-ins, in ``_summary_of``'s order."""
    first_week = CheckIn.day <= bindparam("first_week_end")
    last_week = CheckIn.day >= bindparam("last_week_start")
    any_red_flag = or_(*(getattr(CheckIn, field) for field in RED_FLAG_FIELDS))
    return [
        func.count(CheckIn.id),
        func.avg(CheckIn.pain),
        func.avg(CheckIn.stiffness),
        func.sum(CheckIn.spasm_episodes),
        func.avg(case((first_week, CheckIn.pain))),
        func.avg(case((last_week, CheckIn.pain))),
        func.sum(case((any_red_flag, 1), else_=0)),
    ]


def _in_window():
    return and_(CheckIn.patient_id == bindparam("patient_id"), CheckIn.day >= _START, CheckIn.day <= _END)


def _build_summary_statement():
    return db.select(*_summary_columns()).where(_in_window())


_summary_statement = KeptStatement(_build_summary_statement)


class SeriesRow(NamedTuple):
    day: date
    pain: int
    stiffness: int
    spasm_episodes: int


def series_and_summary(patient_id: int, start: date, end: date) -> tuple[list[SeriesRow], Summary]:
    """``checkin_series`` and ``summary`` of one window in one statement: each row of the series
    carries the window's aggregates (taken over the whole window, OVER ())."""
    rows = db.session.execute(_series_and_summary_statement(), _summary_window(patient_id, start, end)).all()
    aggregates = rows[0][4:] if rows else (None,) * 7
    return [SeriesRow(*row[:4]) for row in rows], _summary_of(start, end, *aggregates)


def _build_series_and_summary_statement():
    return (
        db.select(*_series_columns(), *(column.over() for column in _summary_columns()))
        .where(_in_window())
        .order_by(CheckIn.day)
    )


_series_and_summary_statement = KeptStatement(_build_series_and_summary_statement)


def peg_series(patient_id: int, today: date, weeks: int = PEG_WEEKS) -> list:
    """Rows (week_start, pain_average, enjoyment, activity) for recent weeks, oldest first."""
    since = today - timedelta(weeks=weeks)
    return db.session.execute(_peg_series_statement(), {"patient_id": patient_id, "since": since}).all()


def _build_peg_series_statement():
    return (
        db.select(
            WeeklyOutcome.week_start,
            WeeklyOutcome.pain_average,
            WeeklyOutcome.enjoyment_interference,
            WeeklyOutcome.activity_interference,
        )
        .where(WeeklyOutcome.patient_id == bindparam("patient_id"), WeeklyOutcome.week_start >= bindparam("since"))
        .order_by(WeeklyOutcome.week_start)
    )


_peg_series_statement = KeptStatement(_build_peg_series_statement)


# --- everything a progress page needs -------------------------------------------------


@dataclass
class Progress:
    days: int
    start: date
    end: date
    series: list
    summary: Summary
    streak: int
    longest_streak: int
    weekly_adherence: list[dict]
    items: list[ItemAdherence]
    peg: list

    @property
    def has_data(self) -> bool:
        """Anything to draw: a check-in ever, a session done in the window, or a weekly check."""
        return bool(
            self.series or self.longest_streak or self.peg or any(week["done"] for week in self.weekly_adherence)
        )

    def chart_data(self) -> dict:
        """The JSON the charts draw: one label per day (null where no check-in)."""
        return _chart_json(self.days, self.start, self.end, self.series, self.weekly_adherence, self.peg)


def _chart_json(days: int, start: date, end: date, series: list, weekly: list[dict], peg: list) -> dict:
    by_day = {row.day: row for row in series}
    labels, pain, stiffness, spasms = [], [], [], []
    day = start
    while day <= end:
        row = by_day.get(day)
        labels.append(day.isoformat())
        pain.append(row.pain if row else None)
        stiffness.append(row.stiffness if row else None)
        spasms.append(row.spasm_episodes if row else None)
        day += timedelta(days=1)
    return {
        "days": days,
        "daily": {"labels": labels, "pain": pain, "stiffness": stiffness, "spasms": spasms},
        "adherence": {
            "labels": [w["week_start"].isoformat() for w in weekly],
            "percent": [w["percent"] for w in weekly],
        },
        "peg": {
            "labels": [row[0].isoformat() for row in peg],
            "score": [peg_score(*row[1:]) for row in peg],
        },
    }


def chart_data_for(patient_id: int, today: date, days: int = 30) -> dict:
    """Only what the charts draw (series, weekly adherence, PEG): the JSON endpoints poll this,
    so it skips the page's streak, summary and per-item figures (4 queries instead of 8)."""
    start = today - timedelta(days=days - 1)
    weekly = weekly_adherence(patient_id, today)
    return _chart_json(
        days, start, today, checkin_series(patient_id, start, today), weekly, peg_series(patient_id, today)
    )


def progress_for(patient_id: int, today: date, days: int = 30) -> Progress:
    """All figures of the progress page; a constant number of queries (six)."""
    start = today - timedelta(days=days - 1)
    current, longest = streaks(patient_id, today)
    series, window_summary = series_and_summary(patient_id, start, today)
    # One plan-items query and one done-count query serve both adherence figures: the wider window
    # covers both, and each count says whether its days are in the last four weeks.
    item_start = today - timedelta(days=27)
    window_start = min(adherence_window(today), item_start)
    items = _plan_items([patient_id], window_start, today)
    done = _done_counts([patient_id], window_start, today, items, by_week=True, recent_from=item_start)
    by_week: dict = defaultdict(int)
    by_item: dict = defaultdict(int)
    for (item_id, week, recent), sessions in done.items():
        by_week[item_id, week] += sessions
        if recent:
            by_item[item_id] += sessions
    return Progress(
        days=days,
        start=start,
        end=today,
        series=series,
        summary=window_summary,
        streak=current,
        longest_streak=longest,
        weekly_adherence=weekly_adherence(patient_id, today, items=items, done=dict(by_week)),
        items=item_adherence(patient_id, item_start, today, items=items, done=dict(by_item)),
        peg=peg_series(patient_id, today),
    )
