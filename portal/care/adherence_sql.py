"""Adherence of many patients at once, counted by the database: the care rule of
``portal.care.progress.adherence_and_pauses`` as one set-based statement.

The roster and the patient pages read a page of patients' schedule rows and fold them in
Python; a report over a whole practice (tens of thousands of schedule rows) cannot. Here
each effective-dated schedule row is counted arithmetically instead of day by day:

- a row in force on a day of the window covers the days ``a..b`` (day numbers, clipped to
  the window; its end day excluded, as ``valid_to`` is);
- the days among them on weekday ``k`` (Monday = 0) are ``floor((b - k) / 7) -
  floor((a - 1 - k) / 7)``, day numbers counted from a Monday, so the due days are that
  sum over the row's weekdays, times its times a day (at least once);
- a coach's pause periods of the item that touch the window are merged first (periods of one
  item may overlap), and the due days inside each merged period are subtracted the same way;
- done sessions are each day's log against the row in force that day, at most its times a
  day, nothing on a day the row does not ask for or on a paused day;
- a day in progress is not held against the patient (``portal.care.progress``): rows and
  pauses are counted only up to the day before the patient's today (``t``: their zone's today,
  bound as a small table of the zones whose today is not the practice's, else the practice's),
  and the sessions done from that day on count as due as well as done.

The figures are the same as ``adherence_and_pauses`` (tests/test_adherence_history_property.py
compares both with a day-by-day model, on both databases). ``adherence_ctes`` gives the WITH
clauses for a statement of one's own over any set of patients (the Outcomes report joins them
to its cohort); ``adherence_totals`` runs them over a list of patient ids.

The SQL is text assembled from this module's constants alone; every value is a bound parameter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from sqlalchemy import Date, Integer, String, bindparam, text

from portal.extensions import db
from portal.sqlutil import DIALECTS, EPOCH, KeptStatement, dialect_name
from portal.timeutil import DEFAULT_TIMEZONE, local_today, todays_unlike_the_practice

# Day numbers are counted from EPOCH (a Monday) plus a multiple of 7, so they are positive for
# any date the portal stores, and integer division (which truncates on both databases) floors.
_OFFSET = 7 * 200_000
_NEVER = 10 * _OFFSET  # the last day of a pause nobody has ended
WEEKDAYS = range(7)

_DAY = {
    "postgresql": f"(({{x}}) - DATE '{EPOCH.isoformat()}' + {_OFFSET})",
    "sqlite": f"(CAST(julianday({{x}}) - julianday('{EPOCH.isoformat()}') AS INTEGER) + {_OFFSET})",
}
_MAX = {"postgresql": "GREATEST", "sqlite": "max"}
_MIN = {"postgresql": "LEAST", "sqlite": "min"}

PARAMETER_TYPES = {
    "adh_start": Date,
    "adh_end": Date,
    "adh_first": Integer,
    "adh_last": Integer,
    "adh_today": Integer,
    "adh_zones": String,
}

# The zones whose today is not the practice's, as rows (zone, n) from one bound JSON text.
_ZONE_DAYS = {
    "postgresql": "SELECT z.zone, z.n FROM json_to_recordset(CAST(:adh_zones AS json)) AS z(zone text, n integer)",
    "sqlite": "SELECT json_extract(j.value, '$.zone') AS zone, json_extract(j.value, '$.n') AS n "
    "FROM json_each(:adh_zones) j",
}


def day_number(day: date) -> int:
    """A date's day number as the SQL below counts it."""
    return (day - EPOCH).days + _OFFSET


def adherence_parameters(start: date, end: date) -> dict:
    """The bound values of ``adherence_ctes`` for the window [start, end] (and the patients' todays now)."""
    zones = [{"zone": name, "n": day_number(day)} for name, day in todays_unlike_the_practice().items()]
    return {
        "adh_start": start,
        "adh_end": end,
        "adh_first": day_number(start),
        "adh_last": day_number(end),
        "adh_today": day_number(local_today(DEFAULT_TIMEZONE)),
        "adh_zones": json.dumps(zones),
    }


def _mask(weekdays: str) -> str:
    """SQL: a row's weekdays (a string of digits, Monday = 0) as bits, Monday = 1, Tuesday = 2, ..."""
    return " + ".join(f"CASE WHEN {weekdays} LIKE '%{k}%' THEN {1 << k} ELSE 0 END" for k in WEEKDAYS)


def _weekday_days(a: str, b: str, mask: str) -> str:
    """SQL: how many days a..b (day numbers) fall on a weekday of ``mask`` (bits, Monday = 1)."""
    terms = " + ".join(f"(({mask} >> {k}) & 1) * (({b} - {k}) / 7 - ({a} - 1 - {k}) / 7)" for k in WEEKDAYS)
    return f"CASE WHEN {b} < {a} THEN 0 ELSE {terms} END"


def adherence_ctes(dialect: str, patients: str, carry: Sequence[str] = ()) -> str:
    """WITH clauses (without the WITH) ending in ``adherence(patient_id, due, done, paused, *carry)``:
    each patient of the relation ``patients`` (a table or earlier CTE with a ``patient_id`` column)
    who had a plan item in force on a day of the window, with the sessions due, done and paused
    away, and the columns ``carry`` of their ``patients`` row (so a statement grouping patients
    needs no join back to them: SQLite would scan the whole result once per patient).
    Bound values: ``adherence_parameters(start, end)``."""
    day, most, least = _DAY[dialect], _MAX[dialect], _MIN[dialect]
    # The window's logs are read by the patients' own index entries, then matched to the rows in
    # force by item (a hash join), instead of one index probe per schedule row (eight times more).
    materialized = "MATERIALIZED " if dialect == "postgresql" else ""
    kept = "".join(f", pt.{name}" for name in carry)
    grouped = "".join(f", r.{name}" for name in carry)
    passed = "".join(f", s.{name}" for name in carry)
    log_day = day.format(x="l.day")
    times = "CASE WHEN r.times < 1 THEN 1 ELSE r.times END"
    # Scheduled and paused days are counted up to the day before the patient's today (t).
    scheduled = _weekday_days("r.a", f"{least}(r.b, r.t - 1)", "r.mask")
    paused = _weekday_days(f"{most}(r.a, m.pa)", f"{least}(r.b, r.t - 1, m.pb)", "r.mask")
    counted = "CASE WHEN l.sessions_done > r.times THEN r.times ELSE l.sessions_done END"
    return f"""
adh_zone_days AS ({_ZONE_DAYS[dialect]}),
adh_rows AS (
  SELECT s.patient_id{kept}, s.plan_item_id, {_mask("s.weekdays")} AS mask, s.times_per_day AS times,
         {most}({day.format(x="s.valid_from")}, :adh_first) AS a,
         CASE WHEN s.valid_to IS NULL OR s.valid_to > :adh_end THEN :adh_last
              ELSE {day.format(x="s.valid_to")} - 1 END AS b,
         COALESCE(zd.n, :adh_today) AS t
  FROM plan_item_schedule s JOIN {patients} pt ON pt.patient_id = s.patient_id
  JOIN user_account u ON u.id = s.patient_id
  LEFT JOIN clinic c ON c.id = u.clinic_id
  LEFT JOIN adh_zone_days zd ON zd.zone = COALESCE(NULLIF(u.timezone, ''), c.timezone)
  WHERE s.valid_from <= :adh_end AND (s.valid_to IS NULL OR s.valid_to > :adh_start)
),
adh_pauses AS (
  SELECT p.id, p.plan_item_id, {day.format(x="p.started_on")} AS pa,
         CASE WHEN p.ended_on IS NULL THEN {_NEVER} ELSE {day.format(x="p.ended_on")} - 1 END AS pb
  FROM plan_item_pause p
  WHERE p.plan_item_id IN (SELECT plan_item_id FROM adh_rows)
    AND p.started_on <= :adh_end AND (p.ended_on IS NULL OR p.ended_on > :adh_start)
    AND (p.ended_on IS NULL OR p.ended_on > p.started_on)
),
adh_islands AS (
  SELECT plan_item_id, pa, pb,
         SUM(CASE WHEN prev_b IS NULL OR pa > prev_b + 1 THEN 1 ELSE 0 END)
           OVER (PARTITION BY plan_item_id ORDER BY pa, id ROWS UNBOUNDED PRECEDING) AS island
  FROM (SELECT q.*, MAX(q.pb) OVER (PARTITION BY q.plan_item_id ORDER BY q.pa, q.id
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_b
        FROM adh_pauses q) ordered
),
adh_merged AS (
  SELECT plan_item_id, MIN(pa) AS pa, MAX(pb) AS pb FROM adh_islands GROUP BY plan_item_id, island
),
adh_scheduled AS (
  SELECT r.patient_id{grouped}, SUM(({times}) * ({scheduled})) AS scheduled
  FROM adh_rows r GROUP BY r.patient_id{grouped}
),
adh_paused AS (
  SELECT r.patient_id, SUM(({times}) * ({paused})) AS paused
  FROM adh_rows r JOIN adh_merged m ON m.plan_item_id = r.plan_item_id AND m.pa <= r.b AND m.pb >= r.a
  GROUP BY r.patient_id
),
adh_logs AS {materialized}(
  SELECT l.plan_item_id, {log_day} AS n, l.sessions_done
  FROM {patients} pt JOIN item_log l ON l.patient_id = pt.patient_id
  WHERE l.day >= :adh_start AND l.day <= :adh_end AND l.sessions_done > 0
),
adh_done AS (
  SELECT r.patient_id, SUM({counted}) AS done,
         SUM(CASE WHEN l.n >= r.t THEN {counted} ELSE 0 END) AS in_progress
  FROM adh_logs l
  JOIN adh_rows r ON r.plan_item_id = l.plan_item_id AND l.n >= r.a AND l.n <= r.b
  LEFT JOIN adh_merged m ON m.plan_item_id = l.plan_item_id AND l.n >= m.pa AND l.n <= m.pb
  WHERE ((r.mask >> (l.n % 7)) & 1) = 1 AND m.plan_item_id IS NULL
  GROUP BY r.patient_id
),
adherence AS (
  SELECT s.patient_id, s.scheduled - COALESCE(p.paused, 0) + COALESCE(d.in_progress, 0) AS due,
         COALESCE(d.done, 0) AS done,
         COALESCE(p.paused, 0) AS paused{passed}
  FROM adh_scheduled s
  LEFT JOIN adh_paused p ON p.patient_id = s.patient_id
  LEFT JOIN adh_done d ON d.patient_id = s.patient_id
)"""  # noqa: S608 - constants only  # nosec B608


def typed(statement, sql: str):
    """``statement`` (a ``text``) with the window's parameters typed, for those ``sql`` uses."""
    return statement.bindparams(
        *(bindparam(name, type_=kind) for name, kind in PARAMETER_TYPES.items() if f":{name}" in sql)
    )


def _build_totals_statement(dialect: str):
    sql = f"""WITH adh_patients AS (SELECT id AS patient_id FROM user_account WHERE id IN :patient_ids),
{adherence_ctes(dialect, "adh_patients")}
SELECT patient_id, due, done, paused FROM adherence"""  # noqa: S608 - constants only  # nosec B608
    return typed(text(sql), sql).bindparams(bindparam("patient_ids", expanding=True))


_totals_statement = KeptStatement(_build_totals_statement, variants=[(dialect,) for dialect in DIALECTS])


def adherence_totals(patient_ids: list[int], start: date, end: date) -> dict[int, tuple[int, int, int]]:
    """{patient id: (due, done, paused)} over [start, end], as ``adherence_and_pauses`` gives it,
    in one statement whatever the number of patients or schedule rows."""
    if not patient_ids:
        return {}
    rows = db.session.execute(
        _totals_statement(dialect_name()), {"patient_ids": list(patient_ids), **adherence_parameters(start, end)}
    ).all()
    return {int(pid): (int(due), int(done), int(paused)) for pid, due, done, paused in rows}
