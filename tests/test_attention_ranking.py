"""The "needs attention" ranking (portal.care.attention) against a plain reference.

Hypothesis draws, for a handful of patients, alerts (open, resolved long ago or in the last
48 hours, of every kind), check-ins with their pain over the last two weeks, and a plan (new,
old, or with every item paused); the roster's SQL order must equal the order a plain Python
reading of the rule gives, the reason shown must be the tier that placed the patient, and
the trend arrow must never contradict a named pain rise. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.auth.models import Role, User
from portal.care.attention import Tier, attention_of, order_by_attention
from portal.care.models import Alert, AlertKind, CheckIn, Plan, PlanItem, PlanItemPause
from portal.care.plans import roster_query
from portal.coaching.review import review_for
from portal.timeutil import utcnow
from tests.clock import care_clock  # noqa: F401  (the fixture, used below)
from tests.plan_factories import make_item

pytestmark = pytest.mark.usefixtures("care_clock")

PATIENTS = 5
KINDS = (AlertKind.RED_FLAG, AlertKind.PAIN_WORSENING, AlertKind.MISSED_CHECKINS)


@dataclass
class AlertFact:
    kind: AlertKind
    opened_hours_ago: int
    resolved_hours_ago: int | None  # None: still open


@dataclass
class Facts:
    alerts: list[AlertFact] = field(default_factory=list)
    checkins: dict[int, int] = field(default_factory=dict)  # days ago -> pain
    plan_days_ago: int | None = None  # the active plan's start, days before today (negative: later)
    items: list[bool] = field(default_factory=list)  # each active item: paused?


@st.composite
def alert_facts(draw) -> list[AlertFact]:
    found = []
    for kind in KINDS:
        if draw(st.booleans()):  # one open alert of the kind at most (the unique index)
            found.append(AlertFact(kind, draw(st.integers(0, 400)), None))
        for _ in range(draw(st.integers(0, 2))):
            opened = draw(st.integers(1, 400))
            # Resolved around the 48-hour edge, or long ago.
            resolved = draw(st.one_of(st.integers(0, min(opened, 60)), st.integers(0, opened)))
            found.append(AlertFact(kind, opened, resolved))
    return found


facts_strategy = st.builds(
    Facts,
    alerts=alert_facts(),
    checkins=st.dictionaries(st.integers(0, 13), st.integers(0, 10), max_size=8),
    plan_days_ago=st.one_of(st.none(), st.integers(-3, 30)),
    items=st.lists(st.booleans(), max_size=3),
)


def reference_rank(facts: Facts, today: date, now: datetime) -> tuple[Tier, datetime | None, date | None]:
    """The ranking read plainly from its definition: (tier, event time, event day)."""
    since = now - timedelta(hours=48)

    def opened(kind, is_open):
        times = [
            now - timedelta(hours=a.opened_hours_ago)
            for a in facts.alerts
            if a.kind == kind
            and (
                a.resolved_hours_ago is None
                if is_open
                else a.resolved_hours_ago is not None and now - timedelta(hours=a.resolved_hours_ago) >= since
            )
        ]
        return max(times, default=None)

    days = {today - timedelta(days=ago): pain for ago, pain in facts.checkins.items()}
    last = max(days, default=None)
    week = [d for d in days if today - timedelta(days=7) <= d < today]
    first = min(week, default=None)
    pain_up = first is not None and last > first and days[last] - days[first] >= 2
    start = None if facts.plan_days_ago is None else today - timedelta(days=facts.plan_days_ago)
    missed_alert = any(a.kind == AlertKind.MISSED_CHECKINS and a.resolved_hours_ago is None for a in facts.alerts)
    three_days_ago = today - timedelta(days=3)
    missed = missed_alert or (
        start is not None and start <= three_days_ago and (last is None or last <= three_days_ago)
    )
    all_paused = start is not None and bool(facts.items) and all(facts.items)
    new_plan = start is not None and (start > today - timedelta(days=7) or all_paused)

    red_open = opened(AlertKind.RED_FLAG, True)
    other_open = opened(AlertKind.PAIN_WORSENING, True)
    red_recent = opened(AlertKind.RED_FLAG, False)
    if red_open:
        tier = Tier.RED_FLAG
    elif other_open:
        tier = Tier.OPEN_ALERT
    elif red_recent:
        tier = Tier.RECENT_RED_FLAG
    elif pain_up:
        tier = Tier.PAIN_UP
    elif missed:
        tier = Tier.MISSED
    elif new_plan:
        tier = Tier.NEW_PLAN
    else:
        tier = Tier.ON_TRACK
    event_time = red_open or other_open or red_recent
    if pain_up:
        event_day = last
    elif missed:
        event_day = last or start
    elif new_plan:
        event_day = start
    else:
        event_day = last
    return tier, event_time, event_day


def reference_order(patients: list[User], facts: list[Facts], today: date, now: datetime) -> list[int]:
    def key(pair):
        patient, patient_facts = pair
        tier, event_time, event_day = reference_rank(patient_facts, today, now)
        # Most recent first, missing last.
        time_key = (event_time is None, -(event_time - datetime(2000, 1, 1)).total_seconds() if event_time else 0)
        day_key = (event_day is None, -event_day.toordinal() if event_day else 0)
        return (tier, time_key, day_key, patient.name, patient.id)

    return [patient.id for patient, _facts in sorted(zip(patients, facts, strict=True), key=key)]


def _store(db, patient: User, coach: User, facts: Facts, today: date, now: datetime, library) -> None:
    for fact in facts.alerts:
        resolved = None if fact.resolved_hours_ago is None else now - timedelta(hours=fact.resolved_hours_ago)
        # A Core insert: the ORM would give an explicit NULL open_key its default (1, open).
        db.session.execute(
            db.insert(Alert).values(
                patient_id=patient.id,
                kind=str(fact.kind),
                severity=0,
                opened_at=now - timedelta(hours=fact.opened_hours_ago),
                resolved_at=resolved,
                open_key=1 if resolved is None else None,
            )
        )
    for ago, pain in facts.checkins.items():
        db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=ago), pain=pain, stiffness=3))
    if facts.plan_days_ago is not None:
        plan = Plan(
            patient_id=patient.id,
            coach_id=coach.id,
            title="Back care",
            start_date=today - timedelta(days=facts.plan_days_ago),
        )
        db.session.add(plan)
        db.session.flush()
        for position, paused in enumerate(facts.items):
            item = PlanItem(plan_id=plan.id, library_item_id=library[position].id, position=position)
            db.session.add(item)
            db.session.flush()
            if paused:
                started = today - timedelta(days=1)
                db.session.add(PlanItemPause(plan_item_id=item.id, started_on=started, reason="Rest", open_key=1))


def _clear(db, ids: list[int]) -> None:
    plans = db.select(Plan.id).where(Plan.patient_id.in_(ids))
    items = db.select(PlanItem.id).where(PlanItem.plan_id.in_(plans))
    db.session.execute(db.delete(PlanItemPause).where(PlanItemPause.plan_item_id.in_(items)))
    db.session.execute(db.delete(PlanItem).where(PlanItem.plan_id.in_(plans)))
    db.session.execute(db.delete(Plan).where(Plan.patient_id.in_(ids)))
    db.session.execute(db.delete(Alert).where(Alert.patient_id.in_(ids)))
    db.session.execute(db.delete(CheckIn).where(CheckIn.patient_id.in_(ids)))
    db.session.commit()


REASONS = {
    Tier.RED_FLAG: {"red_flag"},
    Tier.OPEN_ALERT: {"pain_alert"},
    Tier.RECENT_RED_FLAG: {"red_flag_resolved"},
    Tier.PAIN_UP: {"pain_up"},
    Tier.MISSED: {"no_checkin", "missed_alert", "never_checked_in"},
    Tier.NEW_PLAN: {"nothing_due", "new_plan", "never_checked_in", "all_paused"},
}


def test_the_roster_order_is_the_ranking_read_plainly(db, make_user):
    coach = make_user(Role.COACH)
    # Names repeat, so ties reach the last key (the id).
    patients = [make_user(coach=coach, name=f"Pat {n % 3}") for n in range(PATIENTS)]
    ids = [p.id for p in patients]
    library = [make_item() for _ in range(3)]

    @settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(all_facts=st.lists(facts_strategy, min_size=PATIENTS, max_size=PATIENTS))
    def check(all_facts: list[Facts]) -> None:
        _clear(db, ids)
        now = utcnow().replace(microsecond=0)
        today = now.date()
        for patient, facts in zip(patients, all_facts, strict=True):
            _store(db, patient, coach, facts, today, now, library)
        db.session.commit()
        rows = db.session.execute(order_by_attention(roster_query(coach), today, now)).all()
        assert [row[0].id for row in rows] == reference_order(patients, all_facts, today, now)
        placed = attention_of(ids, today, now)
        reviews = review_for(ids, today, now)
        for patient, facts in zip(patients, all_facts, strict=True):
            tier = reference_rank(facts, today, now)[0]
            assert placed[patient.id].tier == tier
            review = reviews[patient.id]
            found = review.reason
            assert (found is None) if tier == Tier.ON_TRACK else (found[0] in REASONS[tier]), (tier, found)
            if found is not None and found[0] == "pain_up":
                assert review.trend == "up" and review.pain_rise >= 2

    check()
