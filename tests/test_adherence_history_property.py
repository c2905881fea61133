"""Every adherence figure against a plain day-by-day count, through random plan histories.

A Hypothesis state machine plays a coach and two patients (Chicago and Auckland, so their
local days turn at different instants) over 60 days: the clock moves on, the coach adds,
removes, re-doses, reschedules, pauses and resumes items and replaces plans, and the patients
mark sessions done, all through the services the pages use. Beside it, a model keeps, for each
patient's local day, what each item asked for at the end of that day (a change applies from
its own day; the last change of a day wins) and the sessions logged. Every figure is then
compared with sums over that model, day by day: a day that is over in the patient's time
zone counts every occurrence it asked for, the day in progress (the patient's today, or a
later day the coach's week reaches) only the ones done. Per item (4-week and whole-history
windows, the progress page's table), per week (the chart), per patient (the 7-day figure
with what pauses took away, and the coach's summary) and the roster's (the coach's 7 days).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from portal.audit import AuditEvent
from portal.auth.models import Role, User
from portal.care import plans as plan_service
from portal.care.adherence_sql import adherence_totals
from portal.care.dosing import Dose
from portal.care.models import ItemLog, Plan, PlanItem, PlanItemPause, PlanItemSchedule, Program, ProgramItem
from portal.care.pauses import pause_item, resume_item
from portal.care.progress import adherence_and_pauses, item_adherence, progress_for, weekly_adherence
from portal.care.today import ItemPaused, NotDueToday, log_session
from portal.coaching.review import patient_summary, review_for
from portal.extensions import db
from tests.plan_factories import make_item

HORIZON = timedelta(days=60)
START = datetime(2026, 2, 2, 6, 0, tzinfo=UTC)
ZONES = ("America/Chicago", "Pacific/Auckland")
WEEKDAY_CHOICES = ("0123456", "01234", "024", "13", "56", "0")


@dataclass(frozen=True)
class ItemState:
    """What an item asks for, as of the end of a local day."""

    weekdays: str
    times: int
    active: bool = True
    paused: bool = False

    def due(self, day: date) -> int:
        return self.scheduled(day) if not self.paused else 0

    def scheduled(self, day: date) -> int:
        return self.times if self.active and str(day.weekday()) in self.weekdays else 0


@dataclass
class PatientModel:
    user: User
    plan: Plan
    items: dict[int, ItemState] = field(default_factory=dict)
    days: dict[date, dict[int, ItemState]] = field(default_factory=dict)
    logs: dict[tuple[int, date], int] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.user.timezone)

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def record(self) -> None:
        """The state now is the state of today (and of every day since the last one recorded)."""
        today = self.today()
        last = max(self.days, default=None)
        if last is not None:
            day = last + timedelta(days=1)
            while day < today:
                self.days[day] = dict(self.days[last])
                day += timedelta(days=1)
        self.days[today] = dict(self.items)

    def owed(self, item_id: int, day: date) -> int:
        """What the item asked for on the day (its state at the end of it), pauses left out."""
        state = self.days.get(day, {}).get(item_id)
        return state.due(day) if state else 0

    def done(self, item_id: int, day: date) -> int:
        return min(self.logs.get((item_id, day), 0), self.owed(item_id, day))

    def due(self, item_id: int, day: date) -> int:
        """A day that is over owes everything it asked for; today only what was done."""
        return self.owed(item_id, day) if day < self.today() else self.done(item_id, day)

    def scheduled(self, item_id: int, day: date) -> int:
        """Like ``due``, pauses ignored."""
        if day >= self.today():
            return self.done(item_id, day)
        state = self.days.get(day, {}).get(item_id)
        return state.scheduled(day) if state else 0

    def window(self, start: date, end: date) -> list[date]:
        return [start + timedelta(days=n) for n in range((end - start).days + 1)]

    def item_figures(self, start: date, end: date) -> dict[int, tuple[int, int]]:
        """(due, done) per item listed: on the plan now, or due on a day of the window."""
        figures = {}
        for item_id, state in self.items.items():
            days = self.window(start, end)
            due = sum(self.due(item_id, day) for day in days)
            if state.active or due:
                figures[item_id] = (due, sum(self.done(item_id, day) for day in days))
        return figures

    def totals(self, start: date, end: date) -> tuple[int, int, int]:
        """(due, done, paused away) over the window, all items."""
        due = done = scheduled = 0
        for item_id in self.items:
            for day in self.window(start, end):
                due += self.due(item_id, day)
                done += self.done(item_id, day)
                scheduled += self.scheduled(item_id, day)
        return due, done, scheduled - due


class PlanHistories(RuleBasedStateMachine):
    """Random plan histories of two patients; ``world`` holds what outlives one example
    (the people, the library and two programs)."""

    def __init__(self, world: dict) -> None:
        super().__init__()
        self.world = world
        self.traveller = None
        self.patients: list[PatientModel] = []

    # --- setting up ---------------------------------------------------------------------

    @initialize(hour=st.integers(0, 23))
    def start(self, hour: int) -> None:
        self.traveller = time_machine.travel(START + timedelta(hours=hour), tick=False)
        self.clock = self.traveller.start()
        self.started = datetime.now(UTC)
        for patient in self.world["patients"]:
            plan = self._assign(patient, self.world["programs"][0], None)
            model = PatientModel(patient, plan)
            self._take_items(model, plan)
            model.record()
            self.patients.append(model)

    def teardown(self) -> None:
        try:
            if self.patients:
                self.figures_match_the_day_by_day_count()  # every run ends with the whole history checked
        finally:
            db.session.rollback()
            if self.traveller is not None:
                self.traveller.stop()
            self._forget()

    def _forget(self) -> None:
        for model in (ItemLog, PlanItemPause, PlanItemSchedule, PlanItem, Plan, AuditEvent):
            db.session.execute(db.delete(model))
        db.session.commit()

    def _assign(self, patient: User, program: Program, replaces: Plan | None) -> Plan:
        today = datetime.now(ZoneInfo(patient.timezone)).date()
        plan = plan_service.assign_program(
            patient, program, self.world["coach"], title="Plan", goals="", start_date=today, replaces=replaces
        )
        db.session.commit()
        return plan

    def _take_items(self, model: PatientModel, plan: Plan) -> None:
        for item in plan.items:
            model.items[item.id] = ItemState(item.weekdays, item.times_per_day)

    # --- the coach and the patients -------------------------------------------------------

    def _move(self, hours: int) -> None:
        """Move the clock on by ``hours``, never past the 60 days."""
        left = self.started + HORIZON - datetime.now(UTC)
        step = min(timedelta(hours=hours), max(left, timedelta(0)))
        if step:
            self.clock.shift(step)
        for model in self.patients:
            model.record()

    def _active(self, model: PatientModel, index: int, paused: bool | None = None) -> PlanItem | None:
        items = [
            item
            for item in model.plan.items
            if item.is_active and (paused is None or model.items[item.id].paused == paused)
        ]
        return items[index % len(items)] if items else None

    @rule(days=st.integers(1, 6), hours=st.integers(0, 23))
    def time_passes(self, days: int, hours: int) -> None:
        self._move(24 * days + hours)

    @rule(who=st.integers(0, 1), hours=st.integers(0, 30), pick=st.integers(0, 20))
    def add_item(self, who: int, hours: int, pick: int) -> None:
        self._move(hours)
        model = self.patients[who]
        library = self.world["library"]
        added, _skipped = plan_service.add_items(model.plan, [library[pick % len(library)]], self.world["coach"])
        db.session.commit()
        for item in added:
            model.items[item.id] = ItemState(item.weekdays, item.times_per_day)
        model.record()

    @rule(who=st.integers(0, 1), hours=st.integers(0, 30), index=st.integers(0, 20))
    def remove_item(self, who: int, hours: int, index: int) -> None:
        self._move(hours)
        model = self.patients[who]
        item = self._active(model, index)
        if item is None:
            return
        plan_service.remove_item(model.plan, item, self.world["coach"])
        db.session.commit()
        model.items[item.id] = ItemState(item.weekdays, item.times_per_day, active=False)
        model.record()

    def _redose(self, model: PatientModel, item: PlanItem, **changes) -> None:
        values = {**Dose.of(item, note_attr="coach_note").__dict__, **changes}
        plan_service.update_item(model.plan, item, Dose(**values), self.world["coach"])
        db.session.commit()
        state = model.items[item.id]
        model.items[item.id] = ItemState(item.weekdays, item.times_per_day, state.active, state.paused)
        model.record()

    @rule(who=st.integers(0, 1), hours=st.integers(0, 30), index=st.integers(0, 20), times=st.integers(1, 3))
    def redose(self, who: int, hours: int, index: int, times: int) -> None:
        self._move(hours)
        model = self.patients[who]
        item = self._active(model, index)
        if item is not None:
            self._redose(model, item, times_per_day=times, sets=(item.sets or 1) % 5 + 1)

    @rule(
        who=st.integers(0, 1),
        hours=st.integers(0, 30),
        index=st.integers(0, 20),
        weekdays=st.sampled_from(WEEKDAY_CHOICES),
    )
    def reschedule(self, who: int, hours: int, index: int, weekdays: str) -> None:
        self._move(hours)
        model = self.patients[who]
        item = self._active(model, index)
        if item is not None:
            self._redose(model, item, weekdays=weekdays)

    @rule(who=st.integers(0, 1), hours=st.integers(0, 30), index=st.integers(0, 20))
    def pause(self, who: int, hours: int, index: int) -> None:
        self._move(hours)
        model = self.patients[who]
        item = self._active(model, index, paused=False)
        if item is None:
            return
        pause_item(model.plan, item, "Rest a few days", self.world["coach"])
        db.session.commit()
        state = model.items[item.id]
        model.items[item.id] = ItemState(state.weekdays, state.times, paused=True)
        model.record()

    @rule(who=st.integers(0, 1), hours=st.integers(0, 30), index=st.integers(0, 20))
    def resume(self, who: int, hours: int, index: int) -> None:
        self._move(hours)
        model = self.patients[who]
        item = self._active(model, index, paused=True)
        if item is None:
            return
        resume_item(model.plan, item, self.world["coach"])
        db.session.commit()
        state = model.items[item.id]
        model.items[item.id] = ItemState(state.weekdays, state.times)
        model.record()

    @rule(who=st.integers(0, 1), hours=st.integers(0, 30), program=st.integers(0, 1))
    def replace_plan(self, who: int, hours: int, program: int) -> None:
        self._move(hours)
        model = self.patients[who]
        old = model.plan
        model.plan = self._assign(model.user, self.world["programs"][program], old)
        for item_id, state in model.items.items():
            if state.active:
                model.items[item_id] = ItemState(state.weekdays, state.times, active=False)
        self._take_items(model, model.plan)
        model.record()

    @rule(
        who=st.integers(0, 1),
        hours=st.integers(0, 30),
        index=st.integers(0, 20),
        times=st.integers(1, 3),
        then_times=st.none() | st.integers(1, 3),
    )
    def mark_done(self, who: int, hours: int, index: int, times: int, then_times: int | None) -> None:
        """Log ``times`` sessions of an item now; with ``then_times``, the coach then changes its
        times a day the same day (a day's sessions beyond its new dose must not count)."""
        self._move(hours)
        model = self.patients[who]
        item = self._active(model, index)
        if item is None:
            return
        today = model.today()
        state = model.items[item.id]
        for _ in range(times):
            expected_refusal = state.paused or str(today.weekday()) not in state.weekdays
            try:
                log_session(model.user, item)
                db.session.commit()
            except (NotDueToday, ItemPaused):
                db.session.rollback()
                assert expected_refusal
                continue
            assert not expected_refusal
            logged = model.logs.get((item.id, today), 0)
            model.logs[(item.id, today)] = state.times if logged >= state.times else logged + 1
        if then_times is not None:
            self._redose(model, item, times_per_day=then_times)

    # --- the figures ----------------------------------------------------------------------

    @rule()
    def figures_match_the_day_by_day_count(self) -> None:
        for model in self.patients:
            model.record()
            today = model.today()
            pid = model.user.id
            for start in (today - timedelta(days=27), min(model.days)):
                got = {row.item.id: (row.due, row.done) for row in item_adherence(pid, start, today)}
                assert got == model.item_figures(start, today), (start, today)
                # The set-based SQL form of the rule (reports over a whole practice) gives the same.
                assert adherence_totals([pid], start, today) == adherence_and_pauses([pid], start, today)
                assert adherence_totals([pid], start, today).get(pid, (0, 0, 0)) == model.totals(start, today)
            expected_weeks = []
            monday = today - timedelta(days=today.weekday()) - timedelta(weeks=11)
            for week in range(12):
                first = monday + timedelta(weeks=week)
                due, done, _paused = model.totals(first, min(today, first + timedelta(days=6)))
                expected_weeks.append((first, due, done))
            while len(expected_weeks) > 1 and expected_weeks[0][1:] == (0, 0):
                expected_weeks.pop(0)
            weekly = [(w["week_start"], w["due"], w["done"]) for w in weekly_adherence(pid, today)]
            assert weekly == expected_weeks
            page = progress_for(pid, today)
            assert [(w["week_start"], w["due"], w["done"]) for w in page.weekly_adherence] == expected_weeks
            assert {row.item.id: (row.due, row.done) for row in page.items} == model.item_figures(
                today - timedelta(days=27), today
            )
            week = (today - timedelta(days=6), today)
            expected = model.totals(*week)
            assert adherence_and_pauses([pid], *week).get(pid, (0, 0, 0)) == expected
            assert adherence_totals([pid], *week).get(pid, (0, 0, 0)) == expected
            review = patient_summary(model.user).review
            assert (review.adherence_due, review.adherence_done, review.adherence_paused) == expected
        # The roster: the coach's own seven days, for both patients in one go.
        coach_today = datetime.now(ZoneInfo("America/Chicago")).date()
        week = (coach_today - timedelta(days=6), coach_today)
        roster = review_for([model.user.id for model in self.patients], coach_today)
        both = [model.user.id for model in self.patients]
        assert adherence_totals(both, *week) == adherence_and_pauses(both, *week)
        for model in self.patients:
            review = roster[model.user.id]
            assert (review.adherence_due, review.adherence_done, review.adherence_paused) == model.totals(*week)


def _program(coach: User, name: str, doses: list[tuple]) -> Program:
    program = Program(name=name, description="", owner_id=coach.id)
    for position, (library_item, weekdays, times) in enumerate(doses):
        program.items.append(
            ProgramItem(
                library_item_id=library_item.id,
                sets=2,
                reps=8,
                hold_seconds=None,
                times_per_day=times,
                weekdays=weekdays,
                position=position,
                note="",
            )
        )
    db.session.add(program)
    db.session.commit()
    return program


def test_adherence_figures_follow_random_plan_histories(make_user):
    coach = make_user(Role.COACH, name="Casey Coach")
    patients = [
        make_user(Role.PATIENT, coach=coach, name=f"Patient {n}", timezone=zone) for n, zone in enumerate(ZONES)
    ]
    library = [
        make_item(title="Pelvic tilt", default_times_per_day=1, default_days_per_week=7),
        make_item(title="Bird dog", default_times_per_day=2, default_days_per_week=3),
        make_item(title="Glute bridge", default_times_per_day=3, default_days_per_week=5),
        make_item(title="Chin tuck", kind="posture", default_times_per_day=2, default_days_per_week=7),
        make_item(title="Water", kind="diet", default_times_per_day=1, default_days_per_week=2),
    ]
    programs = [
        _program(coach, "Start", [(library[0], "0123456", 1), (library[1], "024", 2)]),
        _program(coach, "Next", [(library[2], "01234", 3), (library[3], "13", 1), (library[0], "56", 2)]),
    ]
    world = {"coach": coach, "patients": patients, "library": library, "programs": programs}
    run_state_machine_as_test(
        lambda: PlanHistories(world),
        settings=settings(
            max_examples=12,
            stateful_step_count=40,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
