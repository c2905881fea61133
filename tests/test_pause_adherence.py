"""Adherence with paused items: a day an item was paused is neither due nor counted as done.

Checked against a day-by-day reference for two patients, items on different weekdays and
several windows (each ending on a different weekday), at the frozen clock's "today".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import bindparam, text

from portal.auth.models import Role, User
from portal.care.adherence_sql import adherence_ctes, adherence_parameters, adherence_totals, typed
from portal.care.checkins import patient_today
from portal.care.models import CheckIn, ItemLog, PlanItemPause
from portal.care.pauses import merged_periods
from portal.care.progress import adherence_and_pauses, adherence_by_patient, item_adherence, weekly_adherence
from portal.coaching.review import review_for
from portal.extensions import db
from portal.sqlutil import dialect_name
from tests.clock import care_clock  # noqa: F401  (the fixture)
from tests.plan_factories import make_item, make_plan, schedule_from_start

pytestmark = pytest.mark.usefixtures("care_clock")


@dataclass
class Spec:
    """One plan item as the reference sees it: schedule, pause periods [from, until) and logs."""

    weekdays: str
    times: int
    pauses: list[tuple[date, date | None]] = field(default_factory=list)
    item_id: int = 0

    def paused(self, day: date) -> bool:
        return any(start <= day and (end is None or day < end) for start, end in self.pauses)


def _reference(specs: list[Spec], plan_start: date, logs: dict[int, dict[date, int]], start: date, end: date):
    """(due, done) per item, day by day: due on scheduled, unpaused days of the plan; done is what
    was logged on unpaused days, never above due."""
    result = {}
    for spec in specs:
        due = done = 0
        day = start
        while day <= end:
            if not spec.paused(day):
                if day >= plan_start and str(day.weekday()) in spec.weekdays:
                    due += spec.times
                done += logs[spec.item_id].get(day, 0)
            day += timedelta(days=1)
        result[spec.item_id] = (due, min(done, due))
    return result


def _setup(patient, coach, plan_start: date, specs: list[Spec], today: date) -> dict[int, dict[date, int]]:
    """The plan, its pauses and a full log on every scheduled day (paused days too: logged before
    the coach paused that day)."""
    plan = make_plan(patient, coach, [make_item() for _ in specs], start_date=plan_start)
    logs: dict[int, dict[date, int]] = {}
    for spec, item in zip(specs, plan.items, strict=True):
        item.weekdays, item.times_per_day = spec.weekdays, spec.times
        spec.item_id = item.id
    schedule_from_start(plan)
    for spec, item in zip(specs, plan.items, strict=True):
        for start, end in spec.pauses:
            # A Core insert: the ORM would put open_key's default (1) in place of an explicit NULL.
            db.session.execute(
                db.insert(PlanItemPause).values(
                    plan_item_id=item.id,
                    started_on=start,
                    ended_on=end,
                    reason="Reference pause",
                    paused_by_id=coach.id,
                    started_at=datetime.now(UTC).replace(tzinfo=None),
                    open_key=1 if end is None else None,
                )
            )
        logs[item.id] = {}
        day = plan_start
        while day <= today:
            if str(day.weekday()) in spec.weekdays:
                db.session.add(
                    ItemLog(plan_item_id=item.id, patient_id=patient.id, day=day, sessions_done=spec.times, done=True)
                )
                logs[item.id][day] = spec.times
            day += timedelta(days=1)
    db.session.commit()
    return logs


@pytest.fixture
def two_patients(patient, coach, make_user):
    today = patient_today(patient)
    other = make_user(Role.PATIENT, coach=coach, name="Rosa Ruiz")
    a_start, b_start = today - timedelta(days=30), today - timedelta(days=12)
    a_specs = [
        # Daily: paused a week, resumed, then paused again since yesterday.
        Spec(
            "0123456", 1, [(today - timedelta(days=10), today - timedelta(days=4)), (today - timedelta(days=1), None)]
        ),
        # Monday, Wednesday, Friday, twice a day: paused three days.
        Spec("024", 2, [(today - timedelta(days=5), today - timedelta(days=2))]),
        # Weekends only, never paused.
        Spec("56", 1),
    ]
    b_specs = [
        # Tuesday and Thursday: paused since three days ago.
        Spec("13", 1, [(today - timedelta(days=3), None)]),
        # Daily, three times a day, never paused.
        Spec("0123456", 3),
        # Paused and resumed the same day: no whole day paused.
        Spec("0123456", 1, [(today - timedelta(days=2), today - timedelta(days=2))]),
    ]
    a_logs = _setup(patient, coach, a_start, a_specs, today)
    b_logs = _setup(other, coach, b_start, b_specs, today)
    return today, {
        patient.id: (a_start, a_specs, a_logs),
        other.id: (b_start, b_specs, b_logs),
    }


@pytest.mark.parametrize("ends_days_ago", range(7))
def test_roster_adherence_leaves_paused_days_out_for_every_window(two_patients, ends_days_ago):
    today, world = two_patients
    end = today - timedelta(days=ends_days_ago)  # seven windows, each ending on another weekday
    start = end - timedelta(days=6)
    expected = {}
    for pid, (plan_start, specs, logs) in world.items():
        per_item = _reference(specs, plan_start, logs, start, end)
        expected[pid] = tuple(sum(values) for values in zip(*per_item.values(), strict=True))
    assert adherence_by_patient(list(world), start, end) == expected
    # The set-based SQL form of the rule (the Outcomes report's) agrees, paused sessions included.
    totals = adherence_totals(list(world), start, end)
    assert {pid: (due, done) for pid, (due, done, _paused) in totals.items()} == expected
    assert totals == adherence_and_pauses(list(world), start, end)


def test_the_set_based_clauses_carry_each_patients_own_columns(two_patients):
    """A report of its own over ``adherence_ctes`` (as the Outcomes report groups by clinic, coach and
    program) gets each patient's carried columns beside their figures, without joining back."""
    today, world = two_patients
    ids = list(world)
    start, end = today - timedelta(days=20), today
    sql = f"""WITH people AS (SELECT id AS patient_id, name AS who, email AS reach FROM user_account
                        WHERE id IN :patient_ids),
{adherence_ctes(dialect_name(), "people", carry=("who", "reach"))}
SELECT patient_id, due, done, paused, who, reach FROM adherence"""  # noqa: S608 - constants only
    statement = typed(text(sql), sql).bindparams(bindparam("patient_ids", expanding=True))
    rows = db.session.execute(statement, {"patient_ids": ids, **adherence_parameters(start, end)}).all()
    users = {user.id: user for user in db.session.scalars(db.select(User).where(User.id.in_(ids)))}
    totals = adherence_totals(ids, start, end)
    assert {row.patient_id: (int(row.due), int(row.done), int(row.paused), row.who, row.reach) for row in rows} == {
        pid: (*totals[pid], users[pid].name, users[pid].email) for pid in ids
    }


@pytest.mark.parametrize("ends_days_ago", [0, 3, 6])
def test_item_adherence_matches_the_day_by_day_reference(two_patients, ends_days_ago):
    today, world = two_patients
    end = today - timedelta(days=ends_days_ago)
    start = end - timedelta(days=27)
    for pid, (plan_start, specs, logs) in world.items():
        expected = _reference(specs, plan_start, logs, start, end)
        got = {row.item.id: (row.due, row.done) for row in item_adherence(pid, start, end)}
        assert got == expected


def test_weekly_adherence_matches_the_reference_week_by_week(two_patients):
    today, world = two_patients
    for pid, (plan_start, specs, logs) in world.items():
        for week in weekly_adherence(pid, today):
            monday = week["week_start"]
            per_item = _reference(specs, plan_start, logs, monday, min(today, monday + timedelta(days=6)))
            assert (week["due"], week["done"]) == tuple(sum(v) for v in zip(*per_item.values(), strict=True))


def test_a_pause_makes_adherence_fair_not_lower(patient, coach):
    """Everything done until the coach paused the item two days ago: 100 %, not 4 of 7."""
    today = patient_today(patient)
    plan = make_plan(patient, coach, [make_item()], start_date=today - timedelta(days=20))
    item = plan.items[0]
    item.times_per_day = 1
    schedule_from_start(plan)
    for offset in range(3, 21):
        db.session.add(ItemLog(plan_item_id=item.id, patient_id=patient.id, day=today - timedelta(days=offset)))
    db.session.add(
        PlanItemPause(
            plan_item_id=item.id, started_on=today - timedelta(days=2), reason="Rest", paused_by_id=coach.id, open_key=1
        )
    )
    db.session.commit()
    review = review_for([patient.id], today)[patient.id]
    assert (review.adherence_due, review.adherence_done, review.adherence_percent) == (4, 4, 100)


def test_a_log_on_the_day_of_the_pause_does_not_fill_another_day(patient, coach):
    """A session logged in the morning of the day the coach paused does not stand in for a missed day."""
    today = patient_today(patient)
    plan = make_plan(patient, coach, [make_item()], start_date=today - timedelta(days=20))
    item = plan.items[0]
    item.times_per_day = 1
    schedule_from_start(plan)
    for offset in (0, 2, 3, 4, 5, 6):  # day -1 missed; day 0 logged, then paused
        db.session.add(ItemLog(plan_item_id=item.id, patient_id=patient.id, day=today - timedelta(days=offset)))
    db.session.add(
        PlanItemPause(plan_item_id=item.id, started_on=today, reason="Rest", paused_by_id=coach.id, open_key=1)
    )
    db.session.commit()
    assert adherence_by_patient([patient.id], today - timedelta(days=6), today) == {patient.id: (6, 5)}


def test_a_one_day_pause_already_resumed_leaves_that_day_and_its_log_out(patient, coach, make_user):
    """Paused for one whole day, then resumed: that day is neither due nor done, and the count of
    sessions paused says so; a patient with no pause has none."""
    today = patient_today(patient)
    other = make_user(Role.PATIENT, coach=coach, name="Rosa Ruiz")
    plan = make_plan(patient, coach, [make_item()], start_date=today - timedelta(days=20))
    make_plan(other, coach, [make_item()], start_date=today - timedelta(days=20))
    item = plan.items[0]
    item.times_per_day = 1
    schedule_from_start(plan)
    paused_day = today - timedelta(days=3)
    db.session.add(ItemLog(plan_item_id=item.id, patient_id=patient.id, day=paused_day))
    db.session.add(
        PlanItemPause(
            plan_item_id=item.id,
            started_on=paused_day,
            ended_on=paused_day + timedelta(days=1),
            reason="Rest",
            paused_by_id=coach.id,
            open_key=None,
        )
    )
    db.session.commit()
    start = today - timedelta(days=6)
    result = adherence_and_pauses([patient.id, other.id], start, today)
    # Six days over, the paused one left out; today is in progress with nothing done.
    assert result[patient.id] == (5, 0, 1)
    assert result[other.id][2] == 0
    [row] = item_adherence(patient.id, start, today)
    assert (row.due, row.done) == (5, 0)


def test_overlapping_periods_are_merged_and_same_day_periods_dropped():
    d = date(2026, 3, 2)
    periods = [
        (d + timedelta(days=5), d + timedelta(days=9)),
        (d, d + timedelta(days=3)),
        (d + timedelta(days=2), d + timedelta(days=6)),
    ]
    assert merged_periods(periods) == [(d, d + timedelta(days=9))]
    assert merged_periods([(d, d), (d + timedelta(days=1), None), (d + timedelta(days=4), d + timedelta(days=8))]) == [
        (d + timedelta(days=1), None)
    ]
    # Paused, resumed and paused again on one day: both periods start that day.
    assert merged_periods([(d, d), (d, None)]) == [(d, None)]
    assert merged_periods([(d, None), (d, d)]) == [(d, None)]
    assert merged_periods([(d, d + timedelta(days=1)), (d + timedelta(days=1), d + timedelta(days=2))]) == [
        (d, d + timedelta(days=2))
    ]


def test_a_plan_with_every_item_paused_is_not_called_new(patient, coach, coach_client):
    today = patient_today(patient)
    plan = make_plan(patient, coach, [make_item(), make_item()], start_date=today - timedelta(days=20))
    for item in plan.items:
        db.session.add(
            PlanItemPause(
                plan_item_id=item.id,
                started_on=today - timedelta(days=8),
                reason="Rest",
                paused_by_id=coach.id,
                open_key=1,
            )
        )
    # A patient who checks in: with every item paused they are still not missing check-ins.
    db.session.add(CheckIn(patient_id=patient.id, day=today, pain=3, stiffness=3))
    db.session.commit()
    review = review_for([patient.id], today)[patient.id]
    assert (review.adherence_due, review.adherence_paused, review.reason_text) == (0, 24, "Every plan item paused")
    assert "Every plan item paused" in coach_client.get("/coach/").get_data(as_text=True)
    page = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert "Nothing due: every item paused" in page and "Nothing due yet" not in page


@pytest.mark.parametrize("window_days", [7, 28, 40])
def test_overlapping_pauses_count_each_paused_day_once_in_both_forms(patient, coach, window_days):
    """Pause periods of one item can overlap (a time zone moved them): a day in two of them is
    left out once, by the Python rule and by its SQL form alike."""
    today = patient_today(patient)
    plan_start = today - timedelta(days=35)
    specs = [
        Spec(
            "0246",
            2,
            [
                (today - timedelta(days=20), today - timedelta(days=10)),
                (today - timedelta(days=15), today - timedelta(days=12)),  # inside the first
                (today - timedelta(days=11), today - timedelta(days=5)),  # overlaps its end
                (today - timedelta(days=5), today - timedelta(days=3)),  # starts where that one ends
                (today - timedelta(days=1), None),
            ],
        ),
        Spec("135", 1, [(today - timedelta(days=9), today - timedelta(days=9))]),  # no whole day
    ]
    logs = _setup(patient, coach, plan_start, specs, today)
    start = today - timedelta(days=window_days - 1)
    per_item = _reference(specs, plan_start, logs, start, today)
    due, done = (sum(values) for values in zip(*per_item.values(), strict=True))
    python = adherence_and_pauses([patient.id], start, today)
    assert python[patient.id][:2] == (due, done)
    assert adherence_totals([patient.id], start, today) == python


def test_weekly_adherence_counts_every_run_of_days_between_pauses(patient, coach):
    """Paused twice in one week: the one day between the pauses and every week after them count."""
    today = patient_today(patient)
    monday = today - timedelta(days=today.weekday() + 14)
    plan_start = monday - timedelta(weeks=2)
    pauses = [
        (monday + timedelta(days=2), monday + timedelta(days=4)),
        (monday + timedelta(days=5), monday + timedelta(days=8)),
    ]
    specs = [Spec("0123456", 1, pauses)]
    logs = _setup(patient, coach, plan_start, specs, today)
    weeks = weekly_adherence(patient.id, today)
    # Monday, Tuesday and Friday of the week paused twice; the next week all but its Monday.
    assert [week["due"] for week in weeks][:4] == [7, 7, 3, 6]
    for week in weeks:
        monday_of = week["week_start"]
        [expected] = _reference(specs, plan_start, logs, monday_of, min(today, monday_of + timedelta(days=6))).values()
        assert (week["due"], week["done"]) == expected


def test_weekly_adherence_counts_a_single_day_between_or_after_pauses(patient, coach):
    """Yesterday alone between two pauses, or alone after one: still a day due."""
    today = patient_today(patient)
    plan_start = today - timedelta(days=20)
    specs = [
        Spec("0123456", 1, [(today - timedelta(days=5), today - timedelta(days=1)), (today, None)]),
        Spec("0123456", 1, [(today - timedelta(days=5), today - timedelta(days=1))]),
    ]
    logs = _setup(patient, coach, plan_start, specs, today)
    weeks = weekly_adherence(patient.id, today)
    # 16 days over and unpaused each, and the second item's session done today (in progress).
    assert sum(week["due"] for week in weeks) == 2 * (20 - 4) + 1
    for week in weeks:
        monday = week["week_start"]
        per_item = _reference(specs, plan_start, logs, monday, min(today, monday + timedelta(days=6)))
        assert (week["due"], week["done"]) == tuple(sum(v) for v in zip(*per_item.values(), strict=True))
