"""Progress figures: chart series, streaks and adherence, aggregated in SQL.

Every function issues a fixed number of queries whatever the number of
check-ins or logs. Adherence needs the plan's schedule (which weekdays an item
is due): the handful of plan items is expanded over the days of the window in
Python, while completions are counted by GROUP BY in the database.

Days on which a coach had paused an item (its pause periods, read in the same query
as the items) are neither due nor counted as done.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import Date, and_, bindparam, case, func, or_

from portal.care.models import CheckIn, ItemLog, Plan, PlanItem, PlanItemPause, PlanStatus, WeeklyOutcome, peg_score
from portal.care.pauses import logged_on_paused_day, merged_periods, paused_periods_between
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.errors import BadInput
from portal.extensions import db
from portal.sqlutil import PATIENT_IDS, built_once, day_number, dialect_name, week_number, week_of

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


# The statements below run on every progress, roster and patient page: each is built once per
# process with bound parameters (patient ids, start, end), since building a SELECT and its cache
# key in SQLAlchemy costs more than PostgreSQL takes to run it.
_START = bindparam("start")
_END = bindparam("end")


def _window(patient_ids: list[int], start: date, end: date) -> dict:
    return {"patient_ids": patient_ids, "start": start, "end": end}


def _active_items_between() -> tuple:
    """Where-clauses: active items of the patients' active plans that overlap [start, end]."""
    return (
        Plan.patient_id.in_(PATIENT_IDS),
        Plan.status == PlanStatus.ACTIVE,
        PlanItem.is_active.is_(True),
        Plan.start_date <= _END,
        or_(Plan.end_date.is_(None), Plan.end_date >= _START),
    )


Periods = list[tuple[date, date | None]]


def _with_pauses(rows) -> list[tuple]:
    """Rows whose last two columns are a pause period (or NULLs, from the outer join), one row
    per item and period, folded into one row per item with its merged pause periods at the end."""
    folded: dict[object, tuple] = {}
    periods: dict[object, Periods] = {}
    for row in rows:
        *head, paused_from, paused_until = row
        key = getattr(head[1], "id", head[1])  # the item, or its id
        if key not in folded:
            folded[key], periods[key] = tuple(head), []
        if paused_from is not None:
            periods[key].append((paused_from, paused_until))
    return [(*head, merged_periods(periods[key]) if periods[key] else []) for key, head in folded.items()]


def _active_items(patient_ids: list[int], start: date, end: date) -> list[tuple]:
    """(patient id, item, plan start, plan end, pause periods) for active items of active plans
    overlapping [start, end]; the item's pause periods in that window come in the same query."""
    if not patient_ids:
        return []
    return _with_pauses(db.session.execute(_active_items_statement(), _window(patient_ids, start, end)).all())


def _build_active_items_statement():
    return (
        db.select(
            Plan.patient_id, PlanItem, Plan.start_date, Plan.end_date, PlanItemPause.started_on, PlanItemPause.ended_on
        )
        .join(Plan, Plan.id == PlanItem.plan_id)
        .outerjoin(PlanItemPause, paused_periods_between(_START, _END))
        .where(*_active_items_between())
        .order_by(Plan.patient_id, PlanItem.position, PlanItem.id)
    )


_active_items_statement = built_once(_build_active_items_statement)


# --- adherence -----------------------------------------------------------------


@dataclass
class ItemAdherence:
    item: PlanItem
    due: int
    done: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.done / self.due) if self.due else None


def _done_counts(patient_ids: list[int], start: date, end: date, items: list[tuple], by_week: bool = False) -> dict:
    """Sessions done per (plan item[, week]) in [start, end], summed in SQL. Sessions logged on a
    paused day are left out; the check is only added when one of ``items`` (rows with their pause
    periods last) was paused in the window, so the usual case pays nothing for it."""
    if not patient_ids:
        return {}
    any_paused = any(row[-1] for row in items)
    # The weekly form depends on the database (day arithmetic differs): its statement is built per dialect.
    statement = _done_counts_statement(any_paused, dialect_name() if by_week else None)
    rows = db.session.execute(statement, _window(patient_ids, start, end)).all()
    return {tuple(row[:-1]) if by_week else row[0]: int(row[-1]) for row in rows}


def _build_done_counts_statement(any_paused: bool, weekly_on: str | None):
    keys = [ItemLog.plan_item_id] + ([week_number(ItemLog.day, weekly_on).label("week")] if weekly_on else [])
    conditions = [
        ItemLog.patient_id.in_(PATIENT_IDS),
        ItemLog.sessions_done > 0,
        ItemLog.day >= _START,
        ItemLog.day <= _END,
    ]
    if any_paused:
        conditions.append(~logged_on_paused_day())
    return db.select(*keys, func.sum(ItemLog.sessions_done)).where(*conditions).group_by(*keys)


_done_counts_statement = built_once(_build_done_counts_statement)


def _overlapping(items: list[tuple], start: date, end: date) -> list[tuple]:
    """The rows of ``_active_items`` whose plan overlaps [start, end] (same filter, in Python)."""
    return [row for row in items if row[2] <= end and (row[3] is None or row[3] >= start)]


def item_adherence(patient_id: int, start: date, end: date, items: list[tuple] | None = None) -> list[ItemAdherence]:
    """Per plan item: due sessions and done sessions in the window (two queries; one given ``items``)."""
    items = _active_items([patient_id], start, end) if items is None else _overlapping(items, start, end)
    done = _done_counts([patient_id], start, end, items)
    result = []
    for _pid, item, plan_start, plan_end, pauses in items:
        due = _due_days(item.weekdays, plan_start, plan_end, pauses, start, end) * max(item.times_per_day, 1)
        result.append(ItemAdherence(item=item, due=due, done=min(done.get(item.id, 0), due)))
    return result


def _active_schedules(patient_ids: list[int], start: date, end: date) -> list:
    """Like ``_active_items`` but only the columns a schedule needs: (patient id, item id,
    weekdays, times a day, plan start, plan end, pause periods). The roster needs no ORM
    objects or library texts."""
    return _with_pauses(db.session.execute(_active_schedules_statement(), _window(patient_ids, start, end)).all())


def _build_active_schedules_statement():
    return (
        db.select(
            Plan.patient_id,
            PlanItem.id,
            PlanItem.weekdays,
            PlanItem.times_per_day,
            Plan.start_date,
            Plan.end_date,
            PlanItemPause.started_on,
            PlanItemPause.ended_on,
        )
        .join(Plan, Plan.id == PlanItem.plan_id)
        .outerjoin(PlanItemPause, paused_periods_between(_START, _END))
        .where(*_active_items_between())
    )


_active_schedules_statement = built_once(_build_active_schedules_statement)


def _due_count(weekdays: str, plan_start: date, plan_end: date | None, start: date, end: date) -> int:
    """How many days in [start, end] (within the plan) fall on one of ``weekdays`` (Mon=0)."""
    first = max(start, plan_start)
    last = min(end, plan_end) if plan_end else end
    if last < first:
        return 0
    span = (last - first).days + 1
    full_weeks, rest = divmod(span, 7)
    count = full_weeks * len(set(weekdays))
    for offset in range(rest):
        if str((first.weekday() + offset) % 7) in weekdays:
            count += 1
    return count


def _due_days(weekdays: str, plan_start: date, plan_end: date | None, pauses: Periods, start: date, end: date) -> int:
    """Like ``_due_count``, less the due days that fall in one of the (merged) pause periods."""
    due = _due_count(weekdays, plan_start, plan_end, start, end)
    for paused_from, paused_until in pauses:
        last_paused = paused_until - timedelta(days=1) if paused_until is not None else None
        lo = max(paused_from, plan_start)
        hi = plan_end if last_paused is None else (last_paused if plan_end is None else min(last_paused, plan_end))
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
    items = _active_schedules(patient_ids, start, end)
    done = _done_counts(patient_ids, start, end, items)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for pid, item_id, weekdays, times, plan_start, plan_end, pauses in items:
        scheduled = _due_count(weekdays, plan_start, plan_end, start, end) * max(times, 1)
        due = _due_days(weekdays, plan_start, plan_end, pauses, start, end) * max(times, 1) if pauses else scheduled
        totals[pid][0] += due
        totals[pid][1] += min(done.get(item_id, 0), due)
        totals[pid][2] += scheduled - due
    return {pid: (due, done_, paused) for pid, (due, done_, paused) in totals.items()}


def adherence_window(today: date, weeks: int = ADHERENCE_WEEKS) -> date:
    """First day (a Monday) of the weekly adherence chart."""
    return today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)


def weekly_adherence(
    patient_id: int, today: date, weeks: int = ADHERENCE_WEEKS, items: list[tuple] | None = None
) -> list[dict]:
    """[{week_start, due, done, percent}] for the last ``weeks`` Monday-based weeks."""
    end = today
    start = adherence_window(today, weeks)
    items = _active_items([patient_id], start, end) if items is None else _overlapping(items, start, end)
    done = _done_counts([patient_id], start, end, items, by_week=True)
    due_item_week: dict[tuple[int, date], int] = defaultdict(int)
    # Counted per week with weekday arithmetic, not day by day (12 weeks x items).
    for _pid, item, plan_start, plan_end, pauses in items:
        for i in range(weeks):
            monday = start + timedelta(weeks=i)
            sunday = min(end, monday + timedelta(days=6))
            days = _due_days(item.weekdays, plan_start, plan_end, pauses, monday, sunday)
            due = days * max(item.times_per_day, 1)
            if due:
                due_item_week[(item.id, monday)] += due
    due_week: dict[date, int] = defaultdict(int)
    done_week: dict[date, int] = defaultdict(int)
    for (item_id, monday), due in due_item_week.items():
        due_week[monday] += due
        # Never above 100 %: completions beyond the item's due days that week do not count.
        done_week[monday] += min(done.get((item_id, week_of(monday)), 0), due)
    result = []
    for i in range(weeks):
        monday = start + timedelta(weeks=i)
        due = due_week.get(monday, 0)
        got = done_week.get(monday, 0)
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


def _build_checkin_series_statement():
    return (
        db.select(CheckIn.day, CheckIn.pain, CheckIn.stiffness, CheckIn.spasm_episodes)
        .where(CheckIn.patient_id == bindparam("patient_id"), CheckIn.day >= _START, CheckIn.day <= _END)
        .order_by(CheckIn.day)
    )


_checkin_series_statement = built_once(_build_checkin_series_statement)


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


_streaks_statement = built_once(_build_streaks_statement)


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


def summary(patient_id: int, start: date, end: date) -> Summary:
    """Averages and counts for the window in one aggregate query."""
    window = {
        "patient_id": patient_id,
        "start": start,
        "end": end,
        "first_week_end": start + timedelta(days=6),
        "last_week_start": end - timedelta(days=6),
    }
    count, pain, stiffness, spasms, pain_first, pain_last, red = db.session.execute(_summary_statement(), window).one()
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


def _build_summary_statement():
    first_week = CheckIn.day <= bindparam("first_week_end")
    last_week = CheckIn.day >= bindparam("last_week_start")
    any_red_flag = or_(*(getattr(CheckIn, field) for field in RED_FLAG_FIELDS))
    return db.select(
        func.count(CheckIn.id),
        func.avg(CheckIn.pain),
        func.avg(CheckIn.stiffness),
        func.sum(CheckIn.spasm_episodes),
        func.avg(case((first_week, CheckIn.pain))),
        func.avg(case((last_week, CheckIn.pain))),
        func.sum(case((any_red_flag, 1), else_=0)),
    ).where(and_(CheckIn.patient_id == bindparam("patient_id"), CheckIn.day >= _START, CheckIn.day <= _END))


_summary_statement = built_once(_build_summary_statement)


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


_peg_series_statement = built_once(_build_peg_series_statement)


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
    """All figures of the progress page; a constant number of queries (about 8)."""
    start = today - timedelta(days=days - 1)
    current, longest = streaks(patient_id, today)
    # One plan-items query serves both adherence figures (the wider window covers both).
    item_start = today - timedelta(days=27)
    items = _active_items([patient_id], min(adherence_window(today), item_start), today)
    return Progress(
        days=days,
        start=start,
        end=today,
        series=checkin_series(patient_id, start, today),
        summary=summary(patient_id, start, today),
        streak=current,
        longest_streak=longest,
        weekly_adherence=weekly_adherence(patient_id, today, items=items),
        items=item_adherence(patient_id, item_start, today, items=items),
        peg=peg_series(patient_id, today),
    )
