"""The kept weekly check-in sums (checkin_week, kept by triggers) against a fresh count of the
check-ins and plans after random sequences of writes, on both databases; and the Outcomes pain
chart over check-ins dated after the report's day."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, delete, insert, select, update

from portal.auth.models import Role, User
from portal.care import checkin_weeks
from portal.care.models import CheckIn, CheckInWeek, Plan, PlanStatus
from portal.outcomes import services
from portal.outcomes.services import Filters
from tests.conftest import _empty_tables
from tests.outcome_cohorts import TODAY, PatientSpec, build

BASE = date(2026, 1, 5)
_n = itertools.count(1)

pytestmark = pytest.mark.usefixtures("checkin_week_triggers")


def _fresh(db) -> dict[tuple[int, int], tuple[int, int, date]]:
    """Each patient's weeks counted from scratch: from their earliest plan's start, 7 days a week."""
    starts: dict[int, date] = {}
    for patient_id, start in db.session.execute(select(Plan.patient_id, Plan.start_date)):
        starts[patient_id] = min(start, starts.get(patient_id, start))
    weeks: dict[tuple[int, int], list] = defaultdict(lambda: [0, 0, None])
    for patient_id, day, pain in db.session.execute(select(CheckIn.patient_id, CheckIn.day, CheckIn.pain)):
        start = starts.get(patient_id)
        if start is None or day < start:
            continue
        week = weeks[(patient_id, (day - start).days // 7)]
        week[0] += pain
        week[1] += 1
        week[2] = day if week[2] is None else max(week[2], day)
    return {key: tuple(value) for key, value in weeks.items()}


def _kept(db) -> dict[tuple[int, int], tuple[int, int, date]]:
    rows = db.session.execute(select(CheckInWeek)).scalars()
    return {(r.patient_id, r.week): (r.pain_sum, r.pain_n, r.last_day) for r in rows}


writes = st.lists(
    st.one_of(
        st.tuples(st.just("check in"), st.integers(0, 1), st.integers(-10, 60), st.integers(0, 10)),
        st.tuples(st.just("edit pain"), st.integers(0, 1), st.integers(0, 30), st.integers(0, 10)),
        st.tuples(st.just("move day"), st.integers(0, 1), st.integers(0, 30), st.integers(-10, 60)),
        st.tuples(st.just("delete check-in"), st.integers(0, 1), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("pains by statement"), st.integers(0, 1), st.integers(0, 10), st.just(0)),
        st.tuples(st.just("add plan"), st.integers(0, 1), st.integers(-20, 40), st.just(0)),
        st.tuples(st.just("move plan"), st.integers(0, 1), st.integers(0, 3), st.integers(-20, 40)),
        st.tuples(st.just("delete plan"), st.integers(0, 1), st.integers(0, 3), st.just(0)),
    ),
    max_size=25,
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=writes)
def test_kept_weeks_equal_a_fresh_count_after_any_writes(app, db, steps):
    _empty_tables()
    db.session.expunge_all()
    tag = next(_n)
    coach = User(email=f"kw-coach{tag}@example.org", name="Coach", role=Role.COACH)
    patients = [User(email=f"kw{tag}-{i}@example.org", name="Patient", role=Role.PATIENT) for i in range(2)]
    db.session.add_all([coach, *patients])
    db.session.flush()
    db.session.add(Plan(patient_id=patients[0].id, coach_id=coach.id, title="Plan", start_date=BASE))
    db.session.commit()
    for what, who, a, b in steps:
        patient = patients[who]
        checkins = db.session.scalars(
            select(CheckIn).where(CheckIn.patient_id == patient.id).order_by(CheckIn.day)
        ).all()
        plans = db.session.scalars(select(Plan).where(Plan.patient_id == patient.id).order_by(Plan.id)).all()
        days = {c.day for c in checkins}
        if what == "check in" and BASE + timedelta(days=a) not in days:
            db.session.add(CheckIn(patient_id=patient.id, day=BASE + timedelta(days=a), pain=b, stiffness=b))
        elif what == "edit pain" and checkins:
            checkins[a % len(checkins)].pain = b
        elif what == "move day" and checkins and BASE + timedelta(days=b) not in days:
            checkins[a % len(checkins)].day = BASE + timedelta(days=b)
        elif what == "delete check-in" and checkins:
            db.session.delete(checkins[a % len(checkins)])
        elif what == "pains by statement":  # a write that is no ORM object's: the triggers see it too
            db.session.execute(update(CheckIn).where(CheckIn.patient_id == patient.id).values(pain=a))
        elif what == "add plan":
            # One active plan per patient: the others are ended ones (a Core insert: the ORM would
            # put active_key's default in for None).
            ended = bool(plans)
            db.session.execute(
                insert(Plan).values(
                    patient_id=patient.id,
                    coach_id=coach.id,
                    title="Plan",
                    start_date=BASE + timedelta(days=a),
                    status=PlanStatus.ENDED if ended else PlanStatus.ACTIVE,
                    active_key=None if ended else 1,
                )
            )
        elif what == "move plan" and plans:
            plans[a % len(plans)].start_date = BASE + timedelta(days=b)
        elif what == "delete plan" and plans:
            db.session.execute(delete(Plan).where(Plan.id == plans[a % len(plans)].id))
            db.session.expire_all()
        db.session.flush()
        assert _kept(db) == _fresh(db), (what, who, a, b)
    db.session.commit()
    assert _kept(db) == _fresh(db)


def test_weeks_with_check_ins_after_the_report_day_count_up_to_it(app):
    # A kept week holding days after the report's day (a patient a day ahead, or a report of an
    # earlier day) is summed from its check-ins up to that day; later weeks are left out.
    start_ago = 16  # TODAY is day 16: week 2 is days 14-20
    before = {0: 8, 1: 6, 8: 5, 14: 4, 16: 2}
    after = {17: 10, 20: 10, 21: 10, 30: 10}
    build([PatientSpec(clinic=0, coach=0, program=0, start_ago=start_ago, pains={**before, **after})] * 5)
    with_later = services.report(Filters(), TODAY).weekly[("all", 0)]
    _empty_tables()
    build([PatientSpec(clinic=0, coach=0, program=0, start_ago=start_ago, pains=before)] * 5)
    without = services.report(Filters(), TODAY).weekly[("all", 0)]
    assert [(p.week, p.n, p.median) for p in with_later] == [(p.week, p.n, p.median) for p in without]
    assert [(p.week, p.median) for p in without] == [(0, 7.0), (1, 5.0), (2, 3.0)]


def _two_patients(db) -> tuple[User, list[User]]:
    tag = next(_n)
    coach = User(email=f"kw-coach{tag}@example.org", name="Coach", role=Role.COACH)
    patients = [User(email=f"kw{tag}-{i}@example.org", name="Patient", role=Role.PATIENT) for i in range(2)]
    db.session.add_all([coach, *patients])
    db.session.flush()
    return coach, patients


def test_a_load_written_without_the_triggers_is_recounted_by_rebuild(app, db):
    # The bench's bulk load: drop the triggers, write, rebuild every patient's weeks, put the triggers back.
    coach, (first, second) = _two_patients(db)
    db.session.add(Plan(patient_id=first.id, coach_id=coach.id, title="Plan", start_date=BASE))
    stale = CheckIn(patient_id=first.id, day=BASE + timedelta(days=3), pain=9, stiffness=0)
    db.session.add(stale)
    db.session.commit()
    assert _kept(db) == {(first.id, 0): (9, 1, BASE + timedelta(days=3))}
    try:
        with db.engine.begin() as conn:
            checkin_weeks.drop_triggers(conn)
        db.session.delete(stale)
        db.session.add(Plan(patient_id=second.id, coach_id=coach.id, title="Plan", start_date=BASE + timedelta(days=2)))
        for patient, days_after_base, pain in ((first, -1, 7), (first, 0, 5), (first, 6, 3), (first, 13, 4)):
            db.session.add(
                CheckIn(patient_id=patient.id, day=BASE + timedelta(days=days_after_base), pain=pain, stiffness=0)
            )
        for days_after_base, pain in ((1, 8), (2, 6), (8, 2), (9, 4), (30, 1)):
            db.session.add(
                CheckIn(patient_id=second.id, day=BASE + timedelta(days=days_after_base), pain=pain, stiffness=0)
            )
        db.session.commit()
        assert _kept(db) == {(first.id, 0): (9, 1, BASE + timedelta(days=3))}  # written without the triggers
        with db.engine.begin() as conn:
            checkin_weeks.rebuild(conn)
    finally:
        with db.engine.begin() as conn:
            checkin_weeks.create_triggers(conn)
    db.session.expire_all()
    assert (
        _kept(db)
        == _fresh(db)
        == {
            (first.id, 0): (8, 2, BASE + timedelta(days=6)),
            (first.id, 1): (4, 1, BASE + timedelta(days=13)),
            (second.id, 0): (8, 2, BASE + timedelta(days=8)),
            (second.id, 1): (4, 1, BASE + timedelta(days=9)),
            (second.id, 4): (1, 1, BASE + timedelta(days=30)),
        }
    )
    # The triggers are back: the next check-in counts at once.
    db.session.add(CheckIn(patient_id=second.id, day=BASE + timedelta(days=3), pain=2, stiffness=0))
    db.session.commit()
    assert _kept(db)[(second.id, 0)] == (10, 3, BASE + timedelta(days=8))


def test_create_all_on_existing_tables_puts_the_triggers_back_once(app, db):
    # The tests' create_all fires the listener on tables that already have the triggers: they are replaced, not doubled.
    metadata = MetaData()
    checkin_weeks.attach(metadata)
    with db.engine.begin() as conn:
        metadata.create_all(conn)
        metadata.create_all(conn)
    coach, (patient, _other) = _two_patients(db)
    db.session.add(Plan(patient_id=patient.id, coach_id=coach.id, title="Plan", start_date=BASE))
    db.session.add(CheckIn(patient_id=patient.id, day=BASE + timedelta(days=7), pain=6, stiffness=0))
    db.session.commit()
    assert _kept(db) == {(patient.id, 1): (6, 1, BASE + timedelta(days=7))}
