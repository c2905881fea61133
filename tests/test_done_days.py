"""The kept done sessions per patient and day (item_done_day, kept by triggers) against a fresh
day-by-day count in Python after random sequences of writes to item logs, schedule rows and
pauses (ORM and plain statements), on both databases."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update

from portal.auth.models import Role, User
from portal.care.models import ItemDoneDay, ItemLog, Plan, PlanItem, PlanItemPause, PlanItemSchedule
from portal.extensions import db as _db
from tests.conftest import _empty_tables
from tests.plan_factories import make_item

BASE = date(2026, 3, 2)  # a Monday
PATIENTS, ITEMS_EACH = 2, 2


def _day(offset: int) -> date:
    return BASE + timedelta(days=offset)


def _fresh() -> dict[tuple[int, date], int]:
    """The rule day by day: each log with sessions against each schedule row of its item and patient
    in force that day, asking for that weekday, the item not paused that day: at most its times."""
    rows = _db.session.execute(select(PlanItemSchedule)).scalars().all()
    pauses = _db.session.execute(select(PlanItemPause)).scalars().all()
    counted: dict[tuple[int, date], int] = defaultdict(int)
    for log in _db.session.execute(select(ItemLog)).scalars():
        if log.sessions_done <= 0:
            continue
        if any(p.plan_item_id == log.plan_item_id and p.covers(log.day) for p in pauses):
            continue
        for row in rows:
            in_force = row.valid_from <= log.day and (row.valid_to is None or log.day < row.valid_to)
            if (
                row.plan_item_id == log.plan_item_id
                and row.patient_id == log.patient_id
                and in_force
                and str(log.day.weekday()) in row.weekdays
            ):
                counted[(log.patient_id, log.day)] += min(log.sessions_done, row.times_per_day)
    return dict(counted)


def _kept() -> dict[tuple[int, date], int]:
    return {(r.patient_id, r.day): r.done for r in _db.session.execute(select(ItemDoneDay)).scalars()}


weekdays = st.sets(st.sampled_from("0123456"), min_size=1).map(lambda days: "".join(sorted(days)))
item = st.integers(0, PATIENTS * ITEMS_EACH - 1)
DAYS = 10  # the days written to: few, so writes meet each other's days
offset = st.integers(0, DAYS - 1)
end = st.one_of(st.none(), st.integers(0, DAYS + 1))
writes = st.lists(
    st.one_of(
        st.tuples(st.just("log"), item, offset, st.integers(0, 3)),
        st.tuples(st.just("move log"), item, st.integers(0, 9), offset),
        st.tuples(st.just("delete log"), item, st.integers(0, 9)),
        st.tuples(st.just("sessions by statement"), st.integers(0, PATIENTS - 1), st.integers(0, 3)),
        st.tuples(st.just("add row"), item, offset, end, st.integers(0, 3), weekdays),
        st.tuples(st.just("end row"), item, st.integers(0, 3), offset),
        st.tuples(st.just("redose row"), item, st.integers(0, 3), st.integers(0, 3), weekdays),
        st.tuples(st.just("move row"), item, st.integers(0, 3), offset),
        st.tuples(st.just("delete row"), item, st.integers(0, 3)),
        st.tuples(st.just("pause"), item, offset, end),
        st.tuples(st.just("resume"), item, st.integers(0, 3), offset),
        st.tuples(st.just("delete pause"), item, st.integers(0, 3)),
        st.tuples(st.just("delete item"), item),
    ),
    min_size=10,
    max_size=30,
)


def _setup(tag: int) -> tuple[User, list[tuple[int, int]]]:
    """A coach and PATIENTS patients with a plan of ITEMS_EACH items each: (item id, patient id) pairs."""
    coach = User(email=f"dd-coach{tag}@example.org", name="Coach", role=Role.COACH)
    patients = [User(email=f"dd{tag}-{i}@example.org", name="Patient", role=Role.PATIENT) for i in range(PATIENTS)]
    _db.session.add_all([coach, *patients])
    _db.session.flush()
    library = [make_item() for _ in range(ITEMS_EACH)]
    items = []
    for patient in patients:
        plan = Plan(patient_id=patient.id, coach_id=coach.id, title="Plan", start_date=BASE)
        for position, entry in enumerate(library):
            plan.items.append(PlanItem(library_item_id=entry.id, position=position, times_per_day=1))
        _db.session.add(plan)
        _db.session.flush()
        items += [(plan_item.id, patient.id) for plan_item in plan.items]
    # Each item asked for twice a day from BASE, and logged on every day with 1 to 3 sessions.
    for n, (item_id, patient_id) in enumerate(items):
        _db.session.add(PlanItemSchedule(plan_item_id=item_id, patient_id=patient_id, valid_from=BASE, times_per_day=2))
        for offset in range(DAYS):
            sessions = 1 + (n + offset) % 3
            _db.session.add(
                ItemLog(plan_item_id=item_id, patient_id=patient_id, day=_day(offset), sessions_done=sessions)
            )
    _db.session.commit()
    return coach, items


def _apply(step: tuple, coach: User, items: list[tuple[int, int]]) -> None:
    what, index, *args = step
    item_id, patient_id = items[index] if what != "sessions by statement" else (None, None)
    logs = _db.session.scalars(select(ItemLog).where(ItemLog.plan_item_id == item_id).order_by(ItemLog.day)).all()
    rows = _db.session.scalars(
        select(PlanItemSchedule).where(PlanItemSchedule.plan_item_id == item_id).order_by(PlanItemSchedule.id)
    ).all()
    pauses = _db.session.scalars(
        select(PlanItemPause).where(PlanItemPause.plan_item_id == item_id).order_by(PlanItemPause.id)
    ).all()
    if item_id is not None and _db.session.get(PlanItem, item_id) is None:
        return  # the item was deleted
    days = {log.day for log in logs}
    if what == "log":
        day, sessions = _day(args[0]), args[1]
        existing = next((log for log in logs if log.day == day), None)
        if existing is None:
            _db.session.add(ItemLog(plan_item_id=item_id, patient_id=patient_id, day=day, sessions_done=sessions))
        else:
            existing.sessions_done = sessions
    elif what == "move log" and logs and _day(args[1]) not in days:
        logs[args[0] % len(logs)].day = _day(args[1])
    elif what == "delete log" and logs:
        _db.session.delete(logs[args[0] % len(logs)])
    elif what == "sessions by statement":  # a write that is no ORM object's: the triggers see it too
        patient_id = items[index * ITEMS_EACH][1]
        _db.session.execute(update(ItemLog).where(ItemLog.patient_id == patient_id).values(sessions_done=args[0]))
    elif what == "add row":
        start, stop, times, asked = _day(args[0]), args[1], args[2], args[3]
        _db.session.add(
            PlanItemSchedule(
                plan_item_id=item_id,
                patient_id=patient_id,
                valid_from=start,
                valid_to=None if stop is None else max(start, _day(stop)),
                times_per_day=times,
                weekdays=asked,
            )
        )
    elif what == "end row" and rows:
        row = rows[args[0] % len(rows)]
        row.valid_to = max(row.valid_from, _day(args[1]))
    elif what == "redose row" and rows:
        row = rows[args[0] % len(rows)]
        row.times_per_day, row.weekdays = args[1], args[2]
    elif what == "move row" and rows:
        row = rows[args[0] % len(rows)]
        row.valid_from = _day(args[1]) if row.valid_to is None else min(_day(args[1]), row.valid_to)
    elif what == "delete row" and rows:
        _db.session.execute(delete(PlanItemSchedule).where(PlanItemSchedule.id == rows[args[0] % len(rows)].id))
        _db.session.expire_all()
    elif what == "pause":
        start, stop = _day(args[0]), args[1]
        # A Core insert: the ORM would put open_key's default (1) in place of an explicit NULL.
        _db.session.execute(
            insert(PlanItemPause).values(
                plan_item_id=item_id,
                started_on=start,
                ended_on=None if stop is None else _day(stop),
                reason="Test pause",
                paused_by_id=coach.id,
                started_at=datetime.now(UTC).replace(tzinfo=None),
                open_key=None,
            )
        )
    elif what == "resume" and pauses:
        pauses[args[0] % len(pauses)].ended_on = _day(args[1])
    elif what == "delete pause" and pauses:
        _db.session.delete(pauses[args[0] % len(pauses)])
    elif what == "delete item":
        # Its logs, schedule rows and pauses go with it, as the plan's own cascade deletes them.
        for child in (ItemLog, PlanItemSchedule, PlanItemPause):
            _db.session.execute(delete(child).where(child.plan_item_id == item_id))
        _db.session.execute(delete(PlanItem).where(PlanItem.id == item_id))
        _db.session.expire_all()


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@example(steps=[("pause", 0, 2, None), ("resume", 0, 0, 5)])
@given(steps=writes)
def test_kept_done_days_equal_a_fresh_count_after_any_writes(app, db, steps):
    _empty_tables()
    db.session.expunge_all()
    coach, items = _setup(next(_tags))
    for step in steps:
        _apply(step, coach, items)
        db.session.flush()
        assert _kept() == _fresh(), step
    db.session.commit()
    assert _kept() == _fresh()


def test_a_log_counts_against_the_row_in_force_at_most_its_times_and_not_when_paused(app, db):
    # One item asked for twice a day on Mondays to Fridays from BASE (a Monday), paused on day 2.
    coach, items = _setup(next(_tags))
    item_id, patient_id = items[0]
    for child in (ItemLog, PlanItemSchedule):
        db.session.execute(delete(child))
    db.session.add(
        PlanItemSchedule(
            plan_item_id=item_id, patient_id=patient_id, valid_from=BASE, times_per_day=2, weekdays="01234"
        )
    )
    db.session.add(
        PlanItemPause(plan_item_id=item_id, started_on=_day(2), ended_on=_day(3), reason="Test", open_key=None)
    )
    for offset, sessions in ((0, 3), (1, 1), (2, 2), (5, 2), (7, 0)):
        db.session.add(ItemLog(plan_item_id=item_id, patient_id=patient_id, day=_day(offset), sessions_done=sessions))
    db.session.commit()
    # Day 0: 3 logged, 2 asked; day 1: 1; day 2 paused; day 5 a Saturday; day 7 nothing logged.
    assert _kept() == {(patient_id, _day(0)): 2, (patient_id, _day(1)): 1}


_tags = iter(range(1, 10**6))


def test_two_transactions_logging_one_patients_day_at_once_both_count(app, db, database_url):
    # The second waits for the first's recount to commit, then counts both logs (without the lock
    # it would insert the day's row a second time, or count without the first's log).
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL's concurrent transactions")
    _coach, items = _setup(next(_tags))
    (first_item, patient_id), (second_item, _) = items[0], items[1]
    day = _day(DAYS)  # a day nobody logged yet: the race creates its row
    log = ItemLog.__table__
    first, second = db.engine.connect(), db.engine.connect()
    errors: list[Exception] = []
    try:
        first.begin()
        first.execute(insert(log).values(plan_item_id=first_item, patient_id=patient_id, day=day, sessions_done=1))

        def write_second() -> None:
            try:
                with second.begin():
                    second.execute(
                        insert(log).values(plan_item_id=second_item, patient_id=patient_id, day=day, sessions_done=2)
                    )
            except Exception as error:  # noqa: BLE001 - the assertion below names it
                errors.append(error)

        racer = threading.Thread(target=write_second)
        racer.start()
        racer.join(timeout=1)
        assert racer.is_alive(), "the second recount should wait for the first transaction"
        first.commit()
        racer.join(timeout=30)
    finally:
        first.close()
        second.close()
    assert errors == []
    db.session.expire_all()
    assert _kept()[(patient_id, day)] == 1 + 2
    assert _kept() == _fresh()
