"""Outcome figures of a cohort of patients, aggregated in SQL.

A patient's programme starts with their first plan: its start day is week 0, and its
program is "the program the plan started from". Every figure is counted per group in
one statement whatever the number of patients: each patient's row is repeated once per
breakdown (all patients, their clinic, their coach, their program) and the groups are
aggregated together. PostgreSQL computes the medians with ``percentile_cont``; SQLite,
which has none, counts each distinct value per group and picks the two values around the
quantile's rank from the running counts, interpolated as ``percentile_cont`` does.

The definitions (README, "Outcomes"):

- active: a check-in in the last 14 days (today included); dropped out: none for 14 days
  or more (counted from the start when the patient never checked in);
- pain at start: the mean of the check-ins of week 0; now: the mean of the latest week
  with check-ins after week 0; only patients with both are counted (the n of pain);
- PEG at start: the first weekly score from the week of the start on; now: the latest one
  after it;
- improved: down by at least 2 points or by at least 30 % of the start; worse: up by as
  much; unchanged otherwise. Compared on exact sums and counts (no rounding);
- adherence: each patient's weekly adherence, the share of plan sessions done over the last
  7 days (the care rule and window of the roster, in its set-based SQL form from
  ``portal.care.adherence_sql``); median, quartiles, the share at 70 % or more and the
  patients per 10-point band;
- PSFS: per patient, the mean of the first and of the latest rating of each activity rated
  at least twice; improved when the mean rises by at least 2 points (the goals' own
  CHANGE_POINTS), worse when it falls by as much;
- safety: red-flag alerts opened since the patient's start, by tier (an alert from before
  tiers counts as Today, as its severity says), and the median hours from opening to the
  acknowledgement (resolving acknowledges too) and to resolving, of those acknowledged and
  resolved.

A group, or a figure, counted over fewer than ``MIN_GROUP`` patients shows its n only.

The SQL is text assembled from this module's constants alone (dialect fragments, column
names, enum values; marked for the linters where they are joined); every value from a
request travels as a bound parameter.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Date, Integer, and_, bindparam, case, func, text
from sqlalchemy.orm import aliased

from portal.auth.models import Clinic, Role, User
from portal.care import adherence_sql
from portal.care.goals import CHANGE_POINTS as PSFS_POINTS
from portal.care.models import Alert, AlertKind, CheckIn, Program
from portal.care.red_flags import TIERS_BY_RANK, Tier
from portal.extensions import db
from portal.snapshot_reads import read_all
from portal.sqlutil import DIALECTS, KeptStatement, dialect_name

MIN_GROUP = 5  # fewer patients than this: "too few to compare"
UNTIERED = Tier.TODAY  # a red flag opened before tiers existed counts as Today, as its severity and the Safety page do
ACTIVE_DAYS = 14  # a check-in within this many days (today included) keeps a patient active
ADHERENCE_DAYS = 7  # each patient's weekly adherence: the last 7 days, as on the roster
ADHERENCE_TARGET = 70  # percent
ADHERENCE_BANDS = 10  # the adherence chart's 10-point bands
CHART_WEEKS = 12  # the pain chart shows weeks 0..12 since the start
WEEK_CHOICES = (2, 4, 8, 12)
MAX_RANGE_DAYS = 5 * 365 + 1  # "Started between" spans at most 5 years
CUSTOM_PROGRAM = -1  # the program filter's value for plans made without a program
DIMENSIONS = ("clinic", "coach", "program")
ALL = "all"

# Improvement classes.
IMPROVED, UNCHANGED, WORSE = 1, 0, -1


@dataclass(frozen=True)
class Filters:
    """What the Outcomes page selects; None means "any"."""

    clinic_id: int | None = None
    coach_id: int | None = None
    program_id: int | None = None  # CUSTOM_PROGRAM: plans made without a program
    started_from: date | None = None
    started_to: date | None = None
    weeks: int | None = None  # at least this many weeks since the start


def active_since(today: date) -> date:
    """The first day on which a check-in still makes a patient active."""
    return today - timedelta(days=ACTIVE_DAYS - 1)


def dropped_by(today: date) -> date:
    """A patient whose last check-in (or start, without any) is on or before this day has dropped out."""
    return today - timedelta(days=ACTIVE_DAYS)


def comparable(n: int | None) -> bool:
    """Whether a figure over ``n`` patients may be shown (else: its n and "too few to compare")."""
    return n is not None and n >= MIN_GROUP


def change_class(start_sum: int, start_n: int, now_sum: int, now_n: int) -> int:
    """IMPROVED, UNCHANGED or WORSE for mean scores start_sum/start_n -> now_sum/now_n.

    A change matters when it is at least 2 points or at least 30 % of the start. Compared
    on whole numbers (both sides multiplied by the counts), so 30 % of 6.666... is exact.
    """
    drop = start_sum * now_n - now_sum * start_n  # (start - now) * start_n * now_n
    points = 2 * start_n * now_n
    if drop >= points or (start_sum > 0 and 10 * drop >= 3 * start_sum * now_n):
        return IMPROVED
    if -drop >= points or (start_sum > 0 and -10 * drop >= 3 * start_sum * now_n):
        return WORSE
    return UNCHANGED


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's ``percentile_cont``."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    fraction = position - low
    if low + 1 >= len(ordered):
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * fraction


# --- the SQL --------------------------------------------------------------------------------

_TYPES = {
    "today": Date,
    "active_since": Date,
    "dropped_by": Date,
    "started_from": Date,
    "started_to": Date,
    "latest_start": Date,
    "clinic_id": Integer,
    "coach_id": Integer,
    "program_id": Integer,
    **adherence_sql.PARAMETER_TYPES,
}

# Dialect pieces: whole days between two dates, a float cast, a date some days later, hours between times.
_PG = {
    "days": "({a} - {b})",
    "float": "CAST({x} AS DOUBLE PRECISION)",
    "plus_days": "({d} + {n})",
    "hours": "(EXTRACT(EPOCH FROM ({a} - {b})) / 3600.0)",
}
_SQLITE = {
    "days": "CAST(julianday({a}) - julianday({b}) AS INTEGER)",
    "float": "CAST({x} AS REAL)",
    "plus_days": "date({d}, '+{n} days')",
    "hours": "((julianday({a}) - julianday({b})) * 24.0)",
}


def _sql(dialect: str) -> dict:
    return _PG if dialect == "postgresql" else _SQLITE


def _cohort_sql(dialect: str) -> str:
    """The patients the filters select, with their start, clinic, coach and program."""
    if dialect == "postgresql":
        first_plan = """SELECT DISTINCT ON (p.patient_id) p.patient_id, p.start_date, p.program_id
  FROM plan p ORDER BY p.patient_id, p.start_date, p.id"""
    else:
        first_plan = """SELECT patient_id, start_date, program_id FROM (
    SELECT p.patient_id, p.start_date, p.program_id,
           row_number() OVER (PARTITION BY p.patient_id ORDER BY p.start_date, p.id) AS rn
    FROM plan p) ranked
  WHERE rn = 1"""
    return f"""
first_plan AS (
  {first_plan}
),
cohort AS (
  SELECT u.id AS patient_id, u.clinic_id, u.coach_id, fp.program_id, fp.start_date AS start_day
  FROM user_account u JOIN first_plan fp ON fp.patient_id = u.id
  WHERE u.role = '{Role.PATIENT.value}'
    AND (:clinic_id = 0 OR u.clinic_id = :clinic_id)
    AND (:coach_id = 0 OR u.coach_id = :coach_id)
    AND (:program_id = 0 OR fp.program_id = :program_id
         OR (:program_id = {CUSTOM_PROGRAM} AND fp.program_id IS NULL))
    AND fp.start_date >= :started_from AND fp.start_date <= :started_to
    AND fp.start_date <= :latest_start
)"""  # noqa: S608 - constants only  # nosec B608


def _weekly_sql(dialect: str, column: str) -> str:
    """Each cohort patient's check-ins of the chart's weeks summed per week since the start (week 0 =
    days 0-6), with the patient's ``column`` (the group the chart compares) as ``gkey``.

    The sums are the patient's kept weeks (``checkin_week``, portal.care.checkin_weeks), read by
    the patient's own rows: a few per patient, where grouping their check-ins took five times
    the rows. A kept week with a check-in after ``today`` (a report of an earlier day, or a
    patient whose zone is a day ahead) is summed from its check-ins up to ``today`` instead: the
    subqueries run for those weeks only."""
    if dialect == "postgresql":
        sum_from, sum_to = "co.start_day + 7 * w.week", "co.start_day + 7 * w.week + 6"
    else:
        sum_from = "date(co.start_day, '+' || (7 * w.week) || ' days')"
        sum_to = "date(co.start_day, '+' || (7 * w.week + 6) || ' days')"
    rows = (
        "FROM checkin c WHERE c.patient_id = co.patient_id "
        f"AND c.day >= {sum_from} AND c.day <= {sum_to} AND c.day <= :today"
    )
    return f"""
weekly AS (
  SELECT * FROM (
    SELECT co.patient_id, co.{column} AS gkey, w.week,
           CASE WHEN w.last_day <= :today THEN w.pain_sum ELSE (SELECT SUM(c.pain) {rows}) END AS pain_sum,
           CASE WHEN w.last_day <= :today THEN w.pain_n ELSE (SELECT COUNT(*) {rows}) END AS pain_n
    FROM cohort co JOIN checkin_week w ON w.patient_id = co.patient_id
    WHERE w.week <= {CHART_WEEKS}) kept
  WHERE pain_n > 0
)"""  # noqa: S608 - constants only  # nosec B608


def _expanded(source: str, dimensions: Iterable[str]) -> str:
    """``source``'s rows once for all patients and once per breakdown, as (dim, key, ...)."""
    parts = [f"SELECT '{ALL}' AS dim, 0 AS gkey, s.* FROM {source} s"]  # noqa: S608 - constants only  # nosec B608
    for dim in dimensions:
        parts.append(f"SELECT '{dim}' AS dim, s.{_dimension_column(dim)} AS gkey, s.* FROM {source} s")  # noqa: S608 - constants only  # nosec B608
    return "\n  UNION ALL ".join(parts)


def _grouped_with_quantiles(
    dialect: str,
    source: str,
    aggregates: str,
    columns: Sequence[str] | Mapping[str, Sequence[float]],
    quantiles=(0.5,),
    keys: Sequence[str] = ("dim", "gkey"),
    expanded_from: str | None = None,
) -> str:
    """``SELECT keys, aggregates, quantiles FROM source GROUP BY keys``: ``quantiles`` of each of
    ``columns`` (or of a mapping, each column's own) as ``{column}_q{percent}``, over its non-null values.

    PostgreSQL: percentile_cont. SQLite, which has none, counts each distinct value per group
    (figures are means of small whole numbers, so a group holds few distinct values), runs a
    cumulative count over the values in order, and picks the two values whose ranks surround
    q * (n - 1), interpolated as ``quantile`` and percentile_cont do: low + (high - low) * fraction.
    Sorting the few counted values instead of every row once per column is what makes it cheap.
    When ``source`` is ``_expanded(expanded_from, DIMENSIONS)``, the values are counted once per
    clinic, coach and program of ``expanded_from``'s rows and those counts added up for all patients
    and per breakdown (``_rolled_up_counts``): a quarter of the rows to sort.
    """
    wanted = dict(columns) if isinstance(columns, Mapping) else {c: quantiles for c in columns}
    group_by = ", ".join(keys)
    if dialect == "postgresql":
        select = ", ".join(
            f"percentile_cont({q}) WITHIN GROUP (ORDER BY {c}) AS {c}_q{int(q * 100)}"
            for c, qs in wanted.items()
            for q in qs
        )
        return f"SELECT {group_by}, {aggregates}, {select} FROM {source} GROUP BY {group_by}"  # noqa: S608 - constants only  # nosec B608
    if expanded_from is not None:
        assert tuple(keys) == ("dim", "gkey"), "rolled up per breakdown only"
        counted = _rolled_up_counts(expanded_from, wanted)
    else:
        counted = _counts(source, keys, wanted)
    picked, select = _quantiles_of_counts(counted, keys, wanted)
    on = " AND ".join(f"q.{key} IS a.{key}" for key in keys)  # IS: a group's key may be NULL (no program)
    return f"""SELECT a.*, {", ".join(select)}
FROM (SELECT {group_by}, {aggregates} FROM {source} GROUP BY {group_by}) a
LEFT JOIN ({picked}) q ON {on}"""  # noqa: S608 - constants only  # nosec B608


def _dimension_column(dim: str) -> str:
    return "program_id" if dim == "program" else f"{dim}_id"


def _counts(source: str, keys: Sequence[str], wanted: Mapping[str, Sequence[float]]) -> str:
    """SELECT keys, col, v, k: how many rows of ``source`` hold value v in column number ``col`` of ``wanted``."""
    group_by = ", ".join(keys)
    values = "\n    UNION ALL ".join(
        f"SELECT {group_by}, {i} AS col, {c} AS v FROM {source} WHERE {c} IS NOT NULL"  # noqa: S608 - constants only  # nosec B608
        for i, c in enumerate(wanted)
    )
    return f"SELECT {group_by}, col, v, COUNT(*) AS k FROM (\n    {values}) GROUP BY {group_by}, col, v"  # noqa: S608 - constants only  # nosec B608


def _rolled_up_counts(source: str, wanted: Mapping[str, Sequence[float]]) -> str:
    """``_counts`` of ``_expanded(source, DIMENSIONS)`` without expanding the rows: each value counted
    per clinic, coach and program, then those counts added up for all patients and per breakdown."""
    columns = [_dimension_column(dim) for dim in DIMENSIONS]
    fine = _counts(source, columns, wanted)
    parts = [f"SELECT '{ALL}' AS dim, 0 AS gkey, col, v, SUM(k) AS k FROM fine GROUP BY col, v"]  # noqa: S608 - constants only  # nosec B608
    for dim, column in zip(DIMENSIONS, columns, strict=True):
        by_group = f"SELECT '{dim}' AS dim, {column} AS gkey, col, v, SUM(k) AS k FROM fine GROUP BY {column}, col, v"  # noqa: S608 - constants only  # nosec B608
        parts.append(by_group)
    union = "\n    UNION ALL ".join(parts)
    return f"WITH fine AS ({fine})\n    {union}"  # noqa: S608 - constants only  # nosec B608


def _quantiles_of_counts(
    counted: str, keys: Sequence[str], wanted: Mapping[str, Sequence[float]]
) -> tuple[str, list[str]]:
    """(a SELECT, a select list over it as ``q``) giving each group's quantiles from counted values.

    ``counted`` yields ``keys``, ``col`` (the index of a column of ``wanted``), ``v`` (a distinct
    value) and ``k`` (how many times it occurs). A running count over the values in order gives
    each value's ranks, below + 0 .. below + k - 1; the values at the ranks around q * (n - 1)
    are interpolated as ``quantile`` and percentile_cont do: low + (high - low) * fraction. The
    SELECT also gives each column's n as ``{column}_n``."""
    group_by = ", ".join(keys)
    # One window order for both sums: the running count and the column's n share one sort.
    window = f"PARTITION BY {group_by}, col ORDER BY v"
    ranked = f"""SELECT {group_by}, col, v, k,
      SUM(k) OVER ({window} ROWS UNBOUNDED PRECEDING) - k AS below,
      SUM(k) OVER ({window} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
    FROM ({counted}) counted"""  # noqa: S608 - constants only  # nosec B608
    picks, select = [], []
    for i, (c, qs) in enumerate(wanted.items()):
        picks.append(f"MAX(CASE WHEN col = {i} THEN n END) AS {c}_n")
        for q in qs:
            name = f"{c}_q{int(q * 100)}"
            # The rank below q * (n - 1) in whole numbers on both databases (PostgreSQL's CAST rounds).
            percent = round(q * 100)
            assert percent == q * 100, "quantiles in whole percents"
            low = f"({percent} * (CAST(n AS INTEGER) - 1) / 100)"
            picks.append(f"MAX(CASE WHEN col = {i} AND below <= {low} AND {low} < below + k THEN v END) AS {name}_low")
            picks.append(
                f"MAX(CASE WHEN col = {i} AND below <= {low} + 1 AND {low} + 1 < below + k THEN v END) AS {name}_high"
            )
            picks.append(f"MAX(CASE WHEN col = {i} THEN {q} * (n - 1) - {low} END) AS {name}_fraction")
            select.append(
                f"CASE WHEN q.{name}_high IS NULL THEN q.{name}_low "
                f"ELSE q.{name}_low + (q.{name}_high - q.{name}_low) * q.{name}_fraction END AS {name}"
            )
    picked = f"SELECT {group_by}, {', '.join(picks)} FROM ({ranked}) ranked GROUP BY {group_by}"  # noqa: S608 - constants only  # nosec B608
    return picked, select


def _class_sql(start_sum: str, start_n: str, now_sum: str, now_n: str) -> str:
    """change_class in SQL (the same whole-number comparison)."""
    drop = f"({start_sum} * {now_n} - {now_sum} * {start_n})"
    points = f"(2 * {start_n} * {now_n})"
    rel = f"(3 * {start_sum} * {now_n})"
    return (
        f"CASE WHEN {start_n} IS NULL OR {now_n} IS NULL THEN NULL "
        f"WHEN {drop} >= {points} OR ({start_sum} > 0 AND 10 * {drop} >= {rel}) THEN {IMPROVED} "
        f"WHEN -{drop} >= {points} OR ({start_sum} > 0 AND -10 * {drop} >= {rel}) THEN {WORSE} "
        f"ELSE {UNCHANGED} END"
    )


def _typed(sql: str):
    statement = text(sql)
    return statement.bindparams(*(bindparam(name, type_=kind) for name, kind in _TYPES.items() if f":{name}" in sql))


_PEG_TOTAL = "o.pain_average + o.enjoyment_interference + o.activity_interference"


def _base_sql(dialect: str) -> str:
    """``base``: one row per cohort patient with what their figures need, each read by the
    patient's own index entries (check-ins and weekly scores by patient and day), never by
    aggregating the whole table: the last check-in day since the start, the sum and count of
    pain in week 0 and in the latest later week with check-ins, and the first and latest PEG
    totals. PostgreSQL reads each pair in one LATERAL lookup; SQLite, without LATERAL, in one
    correlated subquery per value."""
    if dialect == "postgresql":
        return f"""
base AS (
  SELECT co.patient_id, co.clinic_id, co.coach_id, co.program_id, co.start_day, lc.last_day,
         b.b_sum, b.b_n, l.l_sum, l.l_n, pf.total AS pb,
         CASE WHEN pl.week_start > pf.week_start THEN pl.total END AS pl
  FROM cohort co
  LEFT JOIN LATERAL (
    SELECT MAX(c.day) AS last_day FROM checkin c
    WHERE c.patient_id = co.patient_id AND c.day >= co.start_day AND c.day <= :today) lc ON TRUE
  LEFT JOIN LATERAL (
    SELECT SUM(c.pain) AS b_sum, NULLIF(COUNT(*), 0) AS b_n FROM checkin c
    WHERE c.patient_id = co.patient_id AND c.day >= co.start_day AND c.day <= co.start_day + 6
      AND c.day <= :today) b ON TRUE
  LEFT JOIN LATERAL (
    SELECT SUM(c.pain) AS l_sum, NULLIF(COUNT(*), 0) AS l_n FROM checkin c
    WHERE c.patient_id = co.patient_id AND lc.last_day >= co.start_day + 7
      AND c.day >= co.start_day + 7 * ((lc.last_day - co.start_day) / 7) AND c.day <= lc.last_day) l ON TRUE
  LEFT JOIN LATERAL (
    SELECT o.week_start, {_PEG_TOTAL} AS total FROM weekly_outcome o
    WHERE o.patient_id = co.patient_id AND o.week_start >= co.start_day - 6 AND o.week_start <= :today
    ORDER BY o.week_start LIMIT 1) pf ON TRUE
  LEFT JOIN LATERAL (
    SELECT o.week_start, {_PEG_TOTAL} AS total FROM weekly_outcome o
    WHERE o.patient_id = co.patient_id AND o.week_start >= co.start_day - 6 AND o.week_start <= :today
    ORDER BY o.week_start DESC LIMIT 1) pl ON TRUE
)"""  # noqa: S608 - constants only  # nosec B608
    week0_end = "date(co.start_day, '+6 days')"
    peg_from = "date(co.start_day, '-6 days')"
    latest_from = (
        "CASE WHEN s.last_day >= date(s.start_day, '+7 days') THEN date(s.start_day, '+' || "
        "(7 * (CAST(julianday(s.last_day) - julianday(s.start_day) AS INTEGER) / 7)) || ' days') END"
    )
    pain_week0 = (
        "FROM checkin c WHERE c.patient_id = co.patient_id AND c.day >= co.start_day "
        f"AND c.day <= {week0_end} AND c.day <= :today"
    )
    peg_rows = f"FROM weekly_outcome o WHERE o.patient_id = co.patient_id AND o.week_start >= {peg_from} AND o.week_start <= :today"
    latest_rows = "FROM checkin c WHERE c.patient_id = s.patient_id AND c.day >= s.latest_from AND c.day <= s.last_day"
    return f"""
seen AS MATERIALIZED (
  SELECT co.patient_id, co.clinic_id, co.coach_id, co.program_id, co.start_day,
    (SELECT MAX(c.day) FROM checkin c
     WHERE c.patient_id = co.patient_id AND c.day >= co.start_day AND c.day <= :today) AS last_day,
    (SELECT SUM(c.pain) {pain_week0}) AS b_sum,
    (SELECT NULLIF(COUNT(*), 0) {pain_week0}) AS b_n,
    (SELECT MIN(o.week_start) {peg_rows}) AS peg_first,
    (SELECT MAX(o.week_start) {peg_rows}) AS peg_last
  FROM cohort co
),
marked AS (
  SELECT s.*, {latest_from} AS latest_from FROM seen s
),
base AS MATERIALIZED (
  SELECT s.patient_id, s.clinic_id, s.coach_id, s.program_id, s.start_day, s.last_day, s.b_sum, s.b_n,
    (SELECT SUM(c.pain) {latest_rows}) AS l_sum,
    (SELECT NULLIF(COUNT(*), 0) {latest_rows}) AS l_n,
    (SELECT {_PEG_TOTAL} FROM weekly_outcome o WHERE o.patient_id = s.patient_id AND o.week_start = s.peg_first) AS pb,
    CASE WHEN s.peg_last > s.peg_first THEN
      (SELECT {_PEG_TOTAL} FROM weekly_outcome o WHERE o.patient_id = s.patient_id AND o.week_start = s.peg_last)
    END AS pl
  FROM marked s
)"""  # noqa: S608 - constants only  # nosec B608


def _scored_sql(dialect: str) -> str:
    """The WITH clauses up to ``scored``: one row per cohort patient with their start and latest figures."""
    as_float = _sql(dialect)["float"]
    psfs_drop = "(p.psfs_first - p.psfs_last)"
    psfs_points = f"({PSFS_POINTS} * p.psfs_n)"
    return f"""
WITH {_cohort_sql(dialect)},
{_base_sql(dialect)},
psfs_ranked AS (
  SELECT r.patient_id, r.goal_id, r.score,
         row_number() OVER (PARTITION BY r.goal_id ORDER BY r.day, r.id) AS first_rn,
         row_number() OVER (PARTITION BY r.goal_id ORDER BY r.day DESC, r.id DESC) AS last_rn,
         COUNT(*) OVER (PARTITION BY r.goal_id) AS ratings
  FROM goal_rating r JOIN cohort co ON co.patient_id = r.patient_id
  WHERE r.day <= :today
),
psfs AS (
  SELECT patient_id, SUM(CASE WHEN first_rn = 1 THEN score END) AS psfs_first,
         SUM(CASE WHEN last_rn = 1 THEN score END) AS psfs_last,
         COUNT(DISTINCT goal_id) AS psfs_n
  FROM psfs_ranked WHERE ratings >= 2 GROUP BY patient_id
),
with_psfs AS (
  SELECT b.*, f.psfs_first, f.psfs_last, f.psfs_n
  FROM base b LEFT JOIN psfs f ON f.patient_id = b.patient_id
),
scored AS (
  SELECT p.patient_id, p.clinic_id, p.coach_id, p.program_id, p.start_day, p.last_day,
    CASE WHEN p.l_n IS NOT NULL AND p.b_n IS NOT NULL THEN {as_float.format(x="p.b_sum")} / p.b_n END AS pain_start,
    CASE WHEN p.l_n IS NOT NULL AND p.b_n IS NOT NULL THEN {as_float.format(x="p.l_sum")} / p.l_n END AS pain_now,
    CASE WHEN p.l_n IS NOT NULL AND p.b_n IS NOT NULL
         THEN {as_float.format(x="p.l_sum")} / p.l_n - {as_float.format(x="p.b_sum")} / p.b_n END AS pain_change,
    {_class_sql("p.b_sum", "p.b_n", "p.l_sum", "p.l_n")} AS pain_class,
    CASE WHEN p.pl IS NOT NULL THEN {as_float.format(x="p.pb")} / 3 END AS peg_start,
    CASE WHEN p.pl IS NOT NULL THEN {as_float.format(x="p.pl")} / 3 END AS peg_now,
    CASE WHEN p.pl IS NOT NULL THEN {as_float.format(x="p.pl")} / 3 - {as_float.format(x="p.pb")} / 3 END AS peg_change,
    CASE WHEN p.pl IS NOT NULL THEN {_class_sql("p.pb", "1", "p.pl", "1")} END AS peg_class,
    CASE WHEN p.psfs_n IS NOT NULL THEN {as_float.format(x="p.psfs_first")} / p.psfs_n END AS psfs_start,
    CASE WHEN p.psfs_n IS NOT NULL THEN {as_float.format(x="p.psfs_last")} / p.psfs_n END AS psfs_now,
    CASE WHEN p.psfs_n IS NOT NULL
         THEN {as_float.format(x="(p.psfs_last - p.psfs_first)")} / p.psfs_n END AS psfs_change,
    CASE WHEN p.psfs_n IS NULL THEN NULL
         WHEN -{psfs_drop} >= {psfs_points} THEN {IMPROVED}
         WHEN {psfs_drop} >= {psfs_points} THEN {WORSE}
         ELSE {UNCHANGED} END AS psfs_class
  FROM with_psfs p
)"""  # noqa: S608 - constants only  # nosec B608


def _build_groups_statement(dialect: str):
    sql = f"""{_scored_sql(dialect)},
expanded AS (
  {_expanded("scored", DIMENSIONS)}
)"""
    aggregates = f"""COUNT(*) AS started,
  SUM(CASE WHEN last_day >= :active_since THEN 1 ELSE 0 END) AS active,
  SUM(CASE WHEN COALESCE(last_day, start_day) <= :dropped_by THEN 1 ELSE 0 END) AS dropped,
  COUNT(pain_class) AS pain_n,
  SUM(CASE WHEN pain_class = {IMPROVED} THEN 1 ELSE 0 END) AS pain_improved,
  SUM(CASE WHEN pain_class = {UNCHANGED} THEN 1 ELSE 0 END) AS pain_unchanged,
  SUM(CASE WHEN pain_class = {WORSE} THEN 1 ELSE 0 END) AS pain_worse,
  COUNT(peg_class) AS peg_n,
  SUM(CASE WHEN peg_class = {IMPROVED} THEN 1 ELSE 0 END) AS peg_improved,
  SUM(CASE WHEN peg_class = {UNCHANGED} THEN 1 ELSE 0 END) AS peg_unchanged,
  SUM(CASE WHEN peg_class = {WORSE} THEN 1 ELSE 0 END) AS peg_worse,
  COUNT(psfs_class) AS psfs_n,
  SUM(CASE WHEN psfs_class = {IMPROVED} THEN 1 ELSE 0 END) AS psfs_improved,
  SUM(CASE WHEN psfs_class = {UNCHANGED} THEN 1 ELSE 0 END) AS psfs_unchanged,
  SUM(CASE WHEN psfs_class = {WORSE} THEN 1 ELSE 0 END) AS psfs_worse"""
    columns = ["pain_start", "pain_now", "pain_change", "peg_start", "peg_now", "peg_change"]
    columns += ["psfs_start", "psfs_now", "psfs_change"]
    sql += "\n" + _grouped_with_quantiles(dialect, "expanded", aggregates, columns, expanded_from="scored")
    return _typed(sql)


_groups_statement = KeptStatement(_build_groups_statement, variants=[(dialect,) for dialect in DIALECTS])

_GROUP_COLUMNS = ("clinic_id", "coach_id", "program_id")


def _adherence_sql(dialect: str) -> str:
    """The WITH clauses up to ``rated``: each cohort patient with sessions due in the last 7 days,
    their due and done sessions and adherence percentage, by the care rule's SQL form (which
    carries the patient's groups along, so nothing joins its result back to the cohort)."""
    as_float = _sql(dialect)["float"]
    return f"""
WITH {_cohort_sql(dialect)},
{adherence_sql.adherence_ctes(dialect, "cohort", carry=_GROUP_COLUMNS)},
rated AS (
  SELECT patient_id, {", ".join(_GROUP_COLUMNS)}, due, done, {as_float.format(x="100 * done")} / due AS adherence
  FROM adherence WHERE due > 0
)"""  # noqa: S608 - constants only  # nosec B608


def _build_adherence_statement(dialect: str):
    """Each group's adherence: n, quartiles, patients at the target or above, and per 10-point band."""
    sql = f"""{_adherence_sql(dialect)},
expanded AS (
  {_expanded("rated", DIMENSIONS)}
)"""
    # Patients per 10-point band (0-9 ... 90-100: 100 % falls in the last).
    bands = ", ".join(
        f"SUM(CASE WHEN (10 * done) / due {'>=' if band == ADHERENCE_BANDS - 1 else '='} {band} "
        f"THEN 1 ELSE 0 END) AS adherence_band{band}"
        for band in range(ADHERENCE_BANDS)
    )
    aggregates = f"""COUNT(*) AS adherence_n,
  SUM(CASE WHEN 100 * done >= {ADHERENCE_TARGET} * due THEN 1 ELSE 0 END) AS adherence_on_target,
  {bands}"""
    sql += "\n" + _grouped_with_quantiles(
        dialect, "expanded", aggregates, ["adherence"], quantiles=(0.25, 0.5, 0.75), expanded_from="rated"
    )
    return _typed(sql)


_adherence_statement = KeptStatement(_build_adherence_statement, variants=[(dialect,) for dialect in DIALECTS])


def _build_patient_adherence_statement(dialect: str):
    """Each cohort patient's due and done sessions of the last 7 days (those with any due)."""
    sql = f"""{_adherence_sql(dialect)}
SELECT patient_id, due, done FROM rated"""  # noqa: S608 - constants only  # nosec B608
    return _typed(sql)


_patient_adherence_statement = KeptStatement(
    _build_patient_adherence_statement, variants=[(dialect,) for dialect in DIALECTS]
)


def _build_weekly_statement(dialect: str, dim: str):
    """The pain chart: per week since the start, the patients with check-ins that week and the
    quartiles of their week's mean pain, for all patients and per group of ``dim``.

    The patient-weeks are counted per group, week and mean (few distinct means: sums of at most
    seven 0-10 pains over their count), the whole practice's counts are the groups' added up,
    and the quartiles are picked from those counts: no step sorts the patient-weeks themselves."""
    as_float = _sql(dialect)["float"]
    column = _dimension_column(dim)
    counted = f"""SELECT '{ALL}' AS dim, 0 AS gkey, week, 0 AS col, v, SUM(k) AS k FROM counted GROUP BY week, v
    UNION ALL SELECT '{dim}' AS dim, gkey, week, 0 AS col, v, k FROM counted"""  # noqa: S608 - constants only  # nosec B608
    keys = ("dim", "gkey", "week")
    picked, select = _quantiles_of_counts(counted, keys, {"pain": (0.25, 0.5, 0.75)})
    sql = f"""
WITH {_cohort_sql(dialect)},
{_weekly_sql(dialect, column)},
counted AS (
  SELECT gkey, week, {as_float.format(x="pain_sum")} / pain_n AS v, COUNT(*) AS k
  FROM weekly GROUP BY gkey, week, {as_float.format(x="pain_sum")} / pain_n
)
SELECT q.dim, q.gkey, q.week, q.pain_n AS n, {", ".join(select)}
FROM ({picked}) q"""  # noqa: S608 - constants only  # nosec B608
    return _typed(sql)


_weekly_statement = KeptStatement(
    _build_weekly_statement, variants=[(dialect, dim) for dialect in DIALECTS for dim in DIMENSIONS]
)


def _build_safety_statement(dialect: str):
    hours = _sql(dialect)["hours"].format(a="a.resolved_at", b="a.opened_at")
    ack_hours = _sql(dialect)["hours"].format(a="a.acknowledged_at", b="a.opened_at")
    sql = f"""
WITH {_cohort_sql(dialect)},
flagged AS (
  SELECT a.id, a.tier, co.clinic_id, co.coach_id, co.program_id,
         CASE WHEN a.acknowledged_at IS NOT NULL THEN {ack_hours} END AS ack_hours,
         CASE WHEN a.resolved_at IS NOT NULL THEN {hours} END AS resolve_hours
  FROM alert a JOIN cohort co ON co.patient_id = a.patient_id
  WHERE a.kind = '{AlertKind.RED_FLAG.value}' AND a.opened_at >= co.start_day
),
expanded AS (
  {_expanded("flagged", DIMENSIONS)}
)"""  # noqa: S608 - constants only  # nosec B608
    tiers = ", ".join(
        f"SUM(CASE WHEN COALESCE(tier, '{UNTIERED.value}') = '{tier.value}' THEN 1 ELSE 0 END) AS tier_{tier.value}"
        for tier in TIERS_BY_RANK
    )
    aggregates = f"COUNT(*) AS alerts, COUNT(ack_hours) AS acknowledged, COUNT(resolve_hours) AS resolved, {tiers}"
    sql += "\n" + _grouped_with_quantiles(
        dialect, "expanded", aggregates, ["ack_hours", "resolve_hours"], expanded_from="flagged"
    )
    return _typed(sql)


_safety_statement = KeptStatement(_build_safety_statement, variants=[(dialect,) for dialect in DIALECTS])


def _build_members_statement(dialect: str):
    """The cohort's patients, one row each: what the per-patient figures (adherence, CSV) start from."""
    sql = f"""
WITH {_cohort_sql(dialect)}
SELECT patient_id, clinic_id, coach_id, program_id, start_day FROM cohort ORDER BY patient_id"""  # noqa: S608 - constants only  # nosec B608
    return _typed(sql)


_members_statement = KeptStatement(_build_members_statement, variants=[(dialect,) for dialect in DIALECTS])


def _build_patients_statement(dialect: str):
    """One row per cohort patient with the figures the per-patient CSV lists.

    Each patient's red flags are counted by their own index entries (patient, kind): a join to
    the practice's flags grouped per patient had no index on SQLite, which scanned all of them
    once per patient."""
    sql = f"""{_scored_sql(dialect)}
SELECT s.*, (SELECT COUNT(*) FROM alert a
             WHERE a.patient_id = s.patient_id AND a.kind = '{AlertKind.RED_FLAG.value}'
               AND a.opened_at >= s.start_day) AS red_flags
FROM scored s
ORDER BY s.patient_id"""  # noqa: S608 - constants only  # nosec B608
    return _typed(sql)


_patients_statement = KeptStatement(_build_patients_statement, variants=[(dialect,) for dialect in DIALECTS])


def _parameters(filters: Filters, today: date) -> dict:
    weeks = filters.weeks or 0
    return {
        "today": today,
        "active_since": active_since(today),
        "dropped_by": dropped_by(today),
        "started_from": filters.started_from or date(1900, 1, 1),
        "started_to": filters.started_to or date(2199, 12, 31),
        "latest_start": today - timedelta(weeks=weeks),
        "clinic_id": filters.clinic_id or 0,
        "coach_id": filters.coach_id or 0,
        "program_id": filters.program_id or 0,
        **adherence_sql.adherence_parameters(today - timedelta(days=ADHERENCE_DAYS - 1), today),
    }


# --- the figures ---------------------------------------------------------------------------


@dataclass
class Change:
    """A score at start and now over the ``n`` patients with both."""

    n: int = 0
    start: float | None = None
    now: float | None = None
    change: float | None = None
    improved: int = 0
    unchanged: int = 0
    worse: int = 0

    @property
    def shown(self) -> bool:
        return comparable(self.n)

    def share(self, count: int) -> float | None:
        return 100 * count / self.n if self.n else None


@dataclass
class Spread:
    """Adherence percentages of ``n`` patients."""

    n: int = 0
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    on_target: int = 0

    @property
    def shown(self) -> bool:
        return comparable(self.n)

    @property
    def on_target_share(self) -> float | None:
        return 100 * self.on_target / self.n if self.n else None


@dataclass
class Safety:
    red_flags: int = 0
    resolved: int = 0
    median_resolve_hours: float | None = None
    acknowledged: int = 0  # resolving acknowledges too (the care rule sets both)
    median_ack_hours: float | None = None
    # tier value -> red-flag alerts, Emergency first (one opened before tiers existed counts as UNTIERED)
    by_tier: dict[str, int] = field(default_factory=lambda: {tier.value: 0 for tier in TIERS_BY_RANK})

    @property
    def shown(self) -> bool:
        return comparable(self.resolved)

    @property
    def ack_shown(self) -> bool:
        return comparable(self.acknowledged)


@dataclass
class Group:
    """The figures of one group of patients (all of them, or one clinic, coach or program)."""

    dim: str
    key: int | None
    label: str = ""
    started: int = 0
    active: int = 0
    dropped: int = 0
    pain: Change = field(default_factory=Change)
    peg: Change = field(default_factory=Change)
    psfs: Change = field(default_factory=Change)  # higher is better: improved is up by PSFS_POINTS or more
    adherence: Spread = field(default_factory=Spread)
    safety: Safety = field(default_factory=Safety)

    @property
    def shown(self) -> bool:
        """Whether this group's shares and medians may be shown at all."""
        return comparable(self.started)

    def share(self, count: int) -> float | None:
        return 100 * count / self.started if self.started else None


@dataclass
class WeekPoint:
    week: int
    n: int
    q1: float | None
    median: float | None
    q3: float | None

    @property
    def shown(self) -> bool:
        return comparable(self.n)


@dataclass
class Report:
    today: date
    overall: Group
    groups: dict[str, list[Group]]  # per dimension, in label order
    weekly: dict[tuple[str, int | None], list[WeekPoint]]  # (dim, key) -> weeks 0..CHART_WEEKS
    adherence_bins: list[int]  # patients per 10-point band of adherence (0-9 ... 90-100; 100 % in the last)

    @property
    def empty(self) -> bool:
        return self.overall.started == 0


def _key(value) -> int | None:
    return None if value is None else int(value)


def _float(value) -> float | None:
    return None if value is None else float(value)


def _change(row, prefix: str) -> Change:
    return Change(
        n=int(row[f"{prefix}_n"] or 0),
        start=_float(row[f"{prefix}_start_q50"]),
        now=_float(row[f"{prefix}_now_q50"]),
        change=_float(row[f"{prefix}_change_q50"]),
        improved=int(row[f"{prefix}_improved"] or 0),
        unchanged=int(row[f"{prefix}_unchanged"] or 0),
        worse=int(row[f"{prefix}_worse"] or 0),
    )


@dataclass(frozen=True)
class Member:
    patient_id: int
    clinic_id: int | None
    coach_id: int | None
    program_id: int | None
    start_day: date


def members(filters: Filters, today: date) -> list[Member]:
    """The patients the filters select (one statement)."""
    rows = db.session.execute(_members_statement(dialect_name()), _parameters(filters, today)).all()
    return [Member(r[0], _key(r[1]), _key(r[2]), _key(r[3]), _as_date(r[4])) for r in rows]


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _spread(row) -> Spread:
    return Spread(
        n=int(row["adherence_n"] or 0),
        median=_float(row["adherence_q50"]),
        q1=_float(row["adherence_q25"]),
        q3=_float(row["adherence_q75"]),
        on_target=int(row["adherence_on_target"] or 0),
    )


def _group_key(row) -> tuple[str, int | None]:
    """(dimension, group id) of a grouped row; all patients are (ALL, 0)."""
    return (row["dim"], _key(row["gkey"]) if row["dim"] != ALL else 0)


def report(filters: Filters, today: date, compare: str = "program", names: dict | None = None) -> Report:
    """Every figure of the Outcomes page: four statements whatever the cohort's size, side by side on
    PostgreSQL (``portal.snapshot_reads``)."""
    dialect = dialect_name()
    params = _parameters(filters, today)
    group_rows, adherence_rows, safety_rows, weekly_rows = read_all(
        [
            (_groups_statement(dialect), params),
            (_adherence_statement(dialect), params),
            (_safety_statement(dialect), params),
            (_weekly_statement(dialect, compare), params),
        ]
    )
    groups: dict[tuple[str, int | None], Group] = {}
    bins = [0] * ADHERENCE_BANDS
    for row in group_rows:
        key = _group_key(row)
        groups[key] = Group(
            dim=row["dim"],
            key=key[1],
            started=int(row["started"]),
            active=int(row["active"] or 0),
            dropped=int(row["dropped"] or 0),
            pain=_change(row, "pain"),
            peg=_change(row, "peg"),
            psfs=_change(row, "psfs"),
        )
    for row in adherence_rows:
        key = _group_key(row)
        if key in groups:
            groups[key].adherence = _spread(row)
        if row["dim"] == ALL:
            bins = [int(row[f"adherence_band{band}"] or 0) for band in range(ADHERENCE_BANDS)]
    for row in safety_rows:
        key = _group_key(row)
        if key in groups:
            groups[key].safety = Safety(
                red_flags=int(row["alerts"]),
                resolved=int(row["resolved"] or 0),
                median_resolve_hours=_float(row["resolve_hours_q50"]),
                acknowledged=int(row["acknowledged"] or 0),
                median_ack_hours=_float(row["ack_hours_q50"]),
                by_tier={tier.value: int(row[f"tier_{tier.value}"] or 0) for tier in TIERS_BY_RANK},
            )
    weekly: dict[tuple[str, int | None], list[WeekPoint]] = defaultdict(list)
    for row in weekly_rows:
        key = _group_key(row)
        weekly[key].append(
            WeekPoint(
                week=int(row["week"]),
                n=int(row["n"]),
                q1=_float(row["pain_q25"]),
                median=_float(row["pain_q50"]),
                q3=_float(row["pain_q75"]),
            )
        )
    for points in weekly.values():
        points.sort(key=lambda p: p.week)
    names = names or {}
    for (dim, key), group in groups.items():
        group.label = names.get(dim, {}).get(key, "")
    overall = groups.pop((ALL, 0), None) or Group(dim=ALL, key=0)
    by_dim: dict[str, list[Group]] = {dim: [] for dim in DIMENSIONS}
    for group in groups.values():
        by_dim[group.dim].append(group)
    for dim in DIMENSIONS:
        by_dim[dim].sort(key=lambda g: (g.label == "", g.label.lower(), g.key or 0))
    return Report(today=today, overall=overall, groups=by_dim, weekly=dict(weekly), adherence_bins=bins)


# --- per patient (the admin's pseudonymous CSV) ------------------------------------------------


@dataclass
class PatientRow:
    report_id: str
    clinic_id: int | None
    coach_id: int | None
    program_id: int | None
    start_day: date
    last_day: date | None
    status: str  # "active", "dropped" or "new"
    pain_start: float | None
    pain_now: float | None
    pain_class: int | None
    peg_start: float | None
    peg_now: float | None
    peg_class: int | None
    psfs_start: float | None
    psfs_now: float | None
    psfs_class: int | None
    adherence: float | None
    red_flags: int


def report_id(secret: str, patient_id: int) -> str:
    """A patient's stable pseudonym in downloaded reports: the same for every download with the
    same secret key, and not reversible to the patient's id without it."""
    digest = hmac.new(secret.encode(), f"outcomes-report:{patient_id}".encode(), hashlib.sha256).hexdigest()
    return "R-" + digest[:12].upper()


def status_of(last_day: date | None, start_day: date, today: date) -> str:
    if last_day is not None and last_day >= active_since(today):
        return "active"
    if (last_day or start_day) <= dropped_by(today):
        return "dropped"
    return "new"


def patient_rows(filters: Filters, today: date, secret: str) -> list[PatientRow]:
    """One row per selected patient, without name or contact (a fixed number of statements)."""
    dialect, params = dialect_name(), _parameters(filters, today)
    rows, adherence_rows = read_all(
        [(_patients_statement(dialect), params), (_patient_adherence_statement(dialect), params)]
    )
    adherence = {int(r["patient_id"]): (int(r["due"]), int(r["done"])) for r in adherence_rows}
    result = []
    for r in rows:
        start, last = _as_date(r["start_day"]), _as_date(r["last_day"])
        pid = int(r["patient_id"])
        result.append(
            PatientRow(
                report_id=report_id(secret, pid),
                clinic_id=_key(r["clinic_id"]),
                coach_id=_key(r["coach_id"]),
                program_id=_key(r["program_id"]),
                start_day=start,
                last_day=last,
                status=status_of(last, start, today),
                pain_start=_float(r["pain_start"]),
                pain_now=_float(r["pain_now"]),
                pain_class=_key(r["pain_class"]),
                peg_start=_float(r["peg_start"]),
                peg_now=_float(r["peg_now"]),
                peg_class=_key(r["peg_class"]),
                psfs_start=_float(r["psfs_start"]),
                psfs_now=_float(r["psfs_now"]),
                psfs_class=_key(r["psfs_class"]),
                adherence=100 * adherence[pid][1] / adherence[pid][0] if pid in adherence else None,
                red_flags=int(r["red_flags"] or 0),
            )
        )
    result.sort(key=lambda row: row.report_id)  # no order that follows account creation
    return result


# --- names and the admin's overview ---------------------------------------------------------------


def labels() -> dict[str, dict[int | None, str]]:
    """Names of every clinic, coach and program, for the filters and the groups (three statements)."""
    clinics = db.session.execute(db.select(Clinic.id, Clinic.name).order_by(Clinic.name)).all()
    coaches = db.session.execute(db.select(User.id, User.name).where(User.role == Role.COACH).order_by(User.name)).all()
    programs = db.session.execute(db.select(Program.id, Program.name).order_by(Program.name)).all()
    return {
        "clinic": {row.id: row.name for row in clinics},
        "coach": {row.id: row.name for row in coaches},
        "program": {row.id: row.name for row in programs},
    }


@dataclass
class ClinicAlerts:
    clinic_id: int | None
    open_alerts: int
    red_flags: int


@dataclass
class CoachLoad:
    coach_id: int
    name: str
    patients: int
    active: int


def open_alerts_by_clinic() -> list[ClinicAlerts]:
    """Open alerts per clinic of the patient (one statement)."""
    rows = db.session.execute(_open_alerts_statement()).all()
    return [ClinicAlerts(_key(r[0]), int(r[1]), int(r[2] or 0)) for r in rows]


def _build_open_alerts_statement():
    return (
        db.select(
            User.clinic_id,
            func.count(Alert.id),
            func.sum(case((Alert.kind == AlertKind.RED_FLAG, 1), else_=0)),
        )
        .join(User, User.id == Alert.patient_id)
        .where(Alert.resolved_at.is_(None))
        .group_by(User.clinic_id)
    )


_open_alerts_statement = KeptStatement(_build_open_alerts_statement)


def _build_coach_loads_statement():
    patient = aliased(User)
    checked_in = (
        db.select(CheckIn.id)
        .where(CheckIn.patient_id == patient.id, CheckIn.day >= bindparam("active_since", type_=Date))
        .exists()
    )
    return (
        db.select(User.id, User.name, func.count(patient.id), func.sum(case((checked_in, 1), else_=0)))
        .outerjoin(patient, and_(patient.coach_id == User.id, patient.role == Role.PATIENT, patient.is_active))
        .where(User.role == Role.COACH, User.is_active)
        .group_by(User.id, User.name)
        .order_by(User.name, User.id)
    )


_coach_loads_statement = KeptStatement(_build_coach_loads_statement)


def coach_loads(today: date) -> list[CoachLoad]:
    """Every active coach with their number of patients and of active patients (one statement)."""
    rows = db.session.execute(_coach_loads_statement(), {"active_since": active_since(today)}).all()
    return [CoachLoad(int(r[0]), r[1], int(r[2] or 0), int(r[3] or 0)) for r in rows]
