"""Who needs attention first: the one ranking of the coach's roster, the API's roster and the
patient summary's reason.

The ranking, most pressing first (``Tier``):

0. **Red flag**: an open red-flag alert.
1. **Open alert**: another open alert of pain getting worse (pain worsening or a sudden jump).
2. **Recent red flag**: a red-flag alert resolved in the last 48 hours.
3. **Pain up**: pain up 2 points or more over the week: the latest check-in's pain minus the
   pain of the earliest check-in of the 7 days before today, when the latest is the later one.
4. **Missed check-ins**: an open missed-check-ins alert, or no check-in for 3 days or more on an
   active plan (the latest 3 or more days before today; with none, the plan started 3 or more
   days ago). This names the gap a day before ``flask alerts scan`` opens its alert (which waits
   for 3 whole days with no check-in).
5. **New plan**: an active plan that started less than 7 days ago (or starts later), or one with
   nothing to do because every item is paused.
6. **On track**: none of the above.

Ties go to the most recent event: for tiers 0-2 the time the alert (or red flag) opened, for 5 the
plan's start, for the others the latest check-in (the plan's start when there is none); then name.

The ranking is SQL, so the roster stays one SELECT however many pages it has: each patient's
facts (``FACTS``: latest alert openings, latest and week-first check-in, the plan's start...) are
correlated subqueries on the patient, evaluated once per patient and only for the coach's own
patients through the (patient_id, ...) indexes, in a subquery the ranking's expressions
(``_terms``) then read. ``attention_of`` reads the same expressions for a page of patients, so
the reason shown is always the tier that placed the patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    column,
    exists,
    func,
    not_,
    nulls_last,
    or_,
    table,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnClause, TableClause
from sqlalchemy.sql.visitors import replacement_traverse

from portal.auth.models import Clinic, User
from portal.care.alerts import MISSED_DAYS, alert_day
from portal.care.models import Alert, AlertKind, CheckIn, Plan, PlanItem, PlanItemPause, PlanStatus
from portal.extensions import db
from portal.sqlutil import PATIENT_IDS, KeptStatement

RECENT_RED_FLAG_HOURS = 48
PAIN_RISE_POINTS = 2  # the worsening rule's 2 points, over the week
PAIN_RISE_DAYS = 7
NEW_PLAN_DAYS = 7
TREND_POINTS = 1


class Tier(IntEnum):
    RED_FLAG = 0
    OPEN_ALERT = 1
    RECENT_RED_FLAG = 2
    PAIN_UP = 3
    MISSED = 4
    NEW_PLAN = 5
    ON_TRACK = 6


def attention_params(today: date, now: datetime) -> dict:
    """The values the ranking's statements are bound to: the coach's today and the current time."""
    return {
        "att_today": today,
        "att_week_from": today - timedelta(days=PAIN_RISE_DAYS),
        "att_missed_before": today - timedelta(days=MISSED_DAYS),
        "att_new_since": today - timedelta(days=NEW_PLAN_DAYS),
        "att_recent_since": now - timedelta(hours=RECENT_RED_FLAG_HOURS),
    }


# The per-patient facts the ranking reads, each computed once per patient (a correlated
# subquery on ``User`` through the (patient_id, ...) indexes), by the names the ranking uses.
FACTS = (
    ("red_flag_open", DateTime),
    ("other_open", DateTime),
    ("red_flag_recent", DateTime),
    ("missed_open", DateTime),
    ("last_day", Date),
    ("latest_pain", Integer),
    ("week_first_day", Date),
    ("week_first_pain", Integer),
    ("plan_start", Date),
    ("has_items", Integer),
    ("unpaused", Integer),
)
# The name of the subquery that carries them: the ranking is written once, against these columns.
FACTS_NAME = "attention_facts"


def _build_facts() -> tuple:
    """The facts as labelled SQL expressions on ``User``, with the ``att_*`` parameters."""
    today = bindparam("att_today", type_=Date)
    week_from = bindparam("att_week_from", type_=Date)
    recent_since = bindparam("att_recent_since", type_=DateTime)

    def scalar(statement):
        return statement.correlate(User).scalar_subquery()

    def alert_opened(*conditions):
        return scalar(db.select(func.max(Alert.opened_at)).where(Alert.patient_id == User.id, *conditions))

    red_flag = Alert.kind == str(AlertKind.RED_FLAG)
    mine = CheckIn.patient_id == User.id
    in_week = and_(mine, CheckIn.day >= week_from, CheckIn.day < today)
    # A patient has one check-in a day (uq_checkin_patient_day): the newest row is the latest
    # day's, the oldest of the week the week's first day's.
    latest_pain = scalar(db.select(CheckIn.pain).where(mine).order_by(CheckIn.day.desc()).limit(1))
    week_first_pain = scalar(db.select(CheckIn.pain).where(in_week).order_by(CheckIn.day).limit(1))

    active = and_(Plan.patient_id == User.id, Plan.status == PlanStatus.ACTIVE)
    in_use = and_(PlanItem.plan_id == Plan.id, PlanItem.is_active.is_(True), active)
    # The first item's id (NULL without one) rather than EXISTS, like the alerts above: PostgreSQL may
    # run an EXISTS as one hashed scan of every active plan item of the practice.
    has_items = scalar(db.select(PlanItem.id).where(in_use).limit(1))
    unpaused = scalar(
        db.select(PlanItem.id)
        .where(in_use, not_(exists().where(PlanItemPause.plan_item_id == PlanItem.id, PlanItemPause.open_key == 1)))
        .limit(1)
    )
    values = {
        "red_flag_open": alert_opened(red_flag, Alert.resolved_at.is_(None)),
        "other_open": alert_opened(Alert.kind == str(AlertKind.PAIN_WORSENING), Alert.resolved_at.is_(None)),
        "red_flag_recent": alert_opened(red_flag, Alert.resolved_at >= recent_since),
        # An opening time like the other alerts' rather than EXISTS: PostgreSQL may run an EXISTS
        # as one hashed scan of every open missed-check-ins alert of the practice (a correlated
        # aggregate or LIMIT 1 subquery is always one probe per patient).
        "missed_open": alert_opened(Alert.kind == str(AlertKind.MISSED_CHECKINS), Alert.resolved_at.is_(None)),
        "last_day": scalar(db.select(func.max(CheckIn.day)).where(mine)),
        "latest_pain": latest_pain,
        "week_first_day": scalar(db.select(func.min(CheckIn.day)).where(in_week)),
        "week_first_pain": week_first_pain,
        "plan_start": scalar(db.select(Plan.start_date).where(active).limit(1)),
        "has_items": has_items,
        "unpaused": unpaused,
    }
    return tuple(values[name].label(name) for name, _type in FACTS)


_facts = KeptStatement(_build_facts)


def _build_terms() -> tuple:
    """(tier, event time, event day): the ranking, as SQL expressions on the facts' columns
    (a subquery named ``FACTS_NAME``), with the ``att_*`` parameters."""
    missed_before = bindparam("att_missed_before", type_=Date)
    new_since = bindparam("att_new_since", type_=Date)
    facts = table(FACTS_NAME, *(column(name, type_) for name, type_ in FACTS))
    f = facts.c

    pain_up = and_(f.last_day > f.week_first_day, f.latest_pain - f.week_first_pain >= PAIN_RISE_POINTS)
    missed = or_(
        f.missed_open.is_not(None),
        and_(f.plan_start <= missed_before, or_(f.last_day.is_(None), f.last_day <= missed_before)),
    )
    new_plan = or_(f.plan_start > new_since, and_(f.has_items.is_not(None), f.unpaused.is_(None)))
    tier = case(
        (f.red_flag_open.is_not(None), int(Tier.RED_FLAG)),
        (f.other_open.is_not(None), int(Tier.OPEN_ALERT)),
        (f.red_flag_recent.is_not(None), int(Tier.RECENT_RED_FLAG)),
        (pain_up, int(Tier.PAIN_UP)),
        (missed, int(Tier.MISSED)),
        (new_plan, int(Tier.NEW_PLAN)),
        else_=int(Tier.ON_TRACK),
    )
    # The tiers' own events, in the tiers' order: the first present is the one that placed them.
    event_time = func.coalesce(f.red_flag_open, f.other_open, f.red_flag_recent)
    event_day = case(
        (pain_up, f.last_day),
        (missed, func.coalesce(f.last_day, f.plan_start)),
        (new_plan, f.plan_start),
        else_=f.last_day,
    )
    return tier, event_time, event_day


_terms = KeptStatement(_build_terms)


def order_by_attention(query: Select, today: date, now: datetime) -> Select:
    """Re-order a query selecting ``User`` (the roster) by the ranking above, its values bound for
    ``today`` and ``now``; it stays one SELECT."""
    return attention_ordered(query).params(attention_params(today, now))


def attention_ordered(query: Select) -> Select:
    """``order_by_attention`` with its values left to bind at execution (``attention_params``): for a kept
    statement.

    The query becomes a subquery named ``FACTS_NAME`` that also carries each patient's facts,
    computed once per row there however often the ranking reads them (OFFSET 0 keeps both
    databases from merging it into the outer SELECT, which would copy every fact into each
    expression using it); the outer SELECT gives the same entities, in the ranking's order."""
    return _ranked(query, with_places=False)


def attention_placed(query: Select) -> Select:
    """``attention_ordered`` whose rows also carry where the ranking places each patient, after the query's own
    entities: the tier and the plan's start that ``attention_of`` reads (``Attention(Tier(tier), plan_start)``),
    from the facts the order already computed, so a page of the roster needs no second statement for them."""
    return _ranked(query, with_places=True)


def _ranked(query: Select, *, with_places: bool) -> Select:
    tier, event_time, event_day = _terms()
    inner = query.order_by(None).add_columns(*_facts()).offset(0).subquery(FACTS_NAME)
    entities = [aliased(d["entity"], inner) for d in query.column_descriptions]
    user = next(entity for entity, d in zip(entities, query.column_descriptions, strict=True) if d["entity"] is User)
    places = (_read_from(inner, tier), inner.c.plan_start) if with_places else ()
    return db.select(*entities, *places).order_by(
        tier, nulls_last(event_time.desc()), nulls_last(event_day.desc()), user.name, user.id
    )


def _build_attention_statement():
    tier, _event_time, _event_day = _terms()
    facts = db.select(User.id, *_facts()).where(User.id.in_(PATIENT_IDS)).subquery(FACTS_NAME)
    return db.select(facts.c.id, _read_from(facts, tier), facts.c.plan_start)


def _read_from(facts, expression):
    """A ranking expression (``_terms``) with its columns read from ``facts``, a statement's own subquery of the
    facts: selected, the bare ``FACTS_NAME`` table it is written against would be another FROM."""

    def on_facts(element):
        if (
            isinstance(element, ColumnClause)
            and isinstance(element.table, TableClause)
            and element.table.name == FACTS_NAME
        ):
            return facts.c[element.name]
        return None

    return replacement_traverse(expression, {}, on_facts)


_attention_statement = KeptStatement(_build_attention_statement)


@dataclass(frozen=True)
class Attention:
    """Where the ranking places a patient, and their active plan's start (None without a plan)."""

    tier: Tier
    plan_start: date | None

    def new_plan(self, today: date) -> bool:
        """In the new-plan tier because the plan is new (not because every item is paused)."""
        return self.plan_start is not None and self.plan_start > today - timedelta(days=NEW_PLAN_DAYS)


def attention_of(patient_ids: list[int], today: date, now: datetime) -> dict[int, Attention]:
    """{patient id: where the ranking places them} for a page of patients (one statement)."""
    if not patient_ids:
        return {}
    rows = db.session.execute(_attention_statement(), {"patient_ids": patient_ids, **attention_params(today, now)})
    return {patient_id: Attention(Tier(tier), plan_start) for patient_id, tier, plan_start in rows}


def _build_red_flag_days_statement():
    recent = or_(Alert.resolved_at.is_(None), Alert.resolved_at >= bindparam("att_recent_since", type_=DateTime))
    return (
        db.select(Alert.patient_id, CheckIn.day, Alert.opened_at, User.timezone, Clinic.timezone)
        .join(User, User.id == Alert.patient_id)
        .outerjoin(Clinic, Clinic.id == User.clinic_id)
        .outerjoin(CheckIn, CheckIn.id == Alert.checkin_id)
        .where(Alert.patient_id.in_(PATIENT_IDS), Alert.kind == str(AlertKind.RED_FLAG), recent)
        .order_by(Alert.opened_at, Alert.id)
    )


_red_flag_days_statement = KeptStatement(_build_red_flag_days_statement)


def red_flag_days(patient_ids: list[int], now: datetime) -> dict[int, date]:
    """{patient id: day of their latest red flag that is open or resolved in the last 48 hours}.

    The day is the one of the check-in that raised it (``alert_day``); one statement."""
    if not patient_ids:
        return {}
    rows = db.session.execute(
        _red_flag_days_statement(), {"patient_ids": patient_ids, **attention_params(now.date(), now)}
    )
    found = {}
    for patient_id, checkin_day, opened_at, own_zone, clinic_zone in rows:
        found[patient_id] = alert_day(checkin_day, opened_at, own_zone or clinic_zone)
    return found


def pain_trend(recent: float | None, before: float | None, rise: int | None) -> str | None:
    """The pain arrow: "up", "down", "steady", or None without enough check-ins.

    The average of the last 3 days against the 7 days before, 1 point either way; a rise the
    ranking names ("Pain up 2 since Monday") is always "up", so the arrow never contradicts it."""
    if rise is not None and rise >= PAIN_RISE_POINTS:
        return "up"
    if recent is None or before is None:
        return None
    change = float(recent) - float(before)
    if change >= TREND_POINTS:
        return "up"
    if change <= -TREND_POINTS:
        return "down"
    return "steady"
