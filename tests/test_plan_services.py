"""The plan services exactly: what each change writes, what it audits (in words), what it refuses.

Every audit entry of a plan change is pinned whole: action, actor, patient, target and details,
which name the program, the plan and the item instead of giving their ids alone (the ids stay
beside the names, for the CSV export and to tie entries together).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care import plans as plan_service
from portal.care.dosing import Dose, DoseError
from portal.care.models import Plan, PlanItemSchedule, PlanStatus
from portal.errors import NotFound
from portal.exercises.library import RetiredItemError
from portal.extensions import db
from tests.plan_factories import make_item, make_plan, make_program

TODAY = date(2026, 3, 18)  # a Wednesday
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture(autouse=True)
def clock():
    """Noon in Chicago on TODAY (the patients live there), ticking on: every local day below is exact,
    and each save stamps a new time (which is what bumps a plan's version)."""
    with time_machine.travel(datetime.combine(TODAY, time(12), tzinfo=CHICAGO), tick=True) as traveller:
        yield traveller


def events(action: str | None = None) -> list[tuple]:
    query = db.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return [
        (e.action, e.actor_id, e.patient_id, e.target_type, e.target_id, e.detail_dict)
        for e in db.session.scalars(query)
    ]


def assign(patient, coach, titles=("Pelvic tilt", "Bird dog"), start=TODAY, replaces=None, title="Back plan"):
    program = make_program(coach, [make_item(title=t) for t in titles], name="Spasm relief")
    plan = plan_service.assign_program(
        patient, program, coach, title=title, goals="Walk again.", start_date=start, replaces=replaces
    )
    db.session.commit()
    return program, plan


def schedules(item) -> list[tuple]:
    rows = db.session.scalars(
        db.select(PlanItemSchedule).where(PlanItemSchedule.plan_item_id == item.id).order_by(PlanItemSchedule.id)
    )
    return [
        (r.patient_id, r.valid_from, r.valid_to, r.sets, r.reps, r.hold_seconds, r.times_per_day, r.weekdays)
        for r in rows
    ]


# --- assigning ------------------------------------------------------------------------------


def test_assigning_copies_the_program_and_audits_it_by_name(patient, coach):
    retired = make_item(title="Old stretch")
    program = make_program(
        coach, [make_item(title="Pelvic tilt"), retired, make_item(title="Bird dog")], name="Spasm relief"
    )
    program.items[0].note = "Slowly."
    retired.is_active = False
    db.session.commit()
    plan = plan_service.assign_program(
        patient, program, coach, title="", goals="Walk again.", start_date=TODAY - timedelta(days=2), replaces=None
    )
    db.session.commit()
    assert (plan.patient_id, plan.coach_id, plan.program_id, plan.title, plan.goals) == (
        patient.id,
        coach.id,
        program.id,
        "Spasm relief",  # no title given: the program's name
        "Walk again.",
    )
    assert (plan.start_date, plan.status, plan.active_key, plan.end_date) == (
        TODAY - timedelta(days=2),
        PlanStatus.ACTIVE,
        1,
        None,
    )
    assert [(i.library_item.title, i.position, i.coach_note, i.sets, i.reps, i.times_per_day) for i in plan.items] == [
        ("Pelvic tilt", 0, "Slowly.", 2, 10, 1),
        ("Bird dog", 1, "", 2, 10, 1),
    ]
    # Each item is due from the plan's start, with the program's dose.
    assert schedules(plan.items[0]) == [(patient.id, TODAY - timedelta(days=2), None, 2, 10, None, 1, "0123456")]
    assert events("plan.assign") == [
        (
            "plan.assign",
            coach.id,
            patient.id,
            "Plan",
            plan.id,
            {
                "plan": "Spasm relief",
                "program": "Spasm relief",
                "program_id": program.id,
                "start_date": "2026-03-16",
                "items": 2,
                "skipped_retired": ["Old stretch"],
            },
        )
    ]


def test_replacing_ends_the_old_plan_today_and_says_by_what(patient, coach):
    _program, old = assign(patient, coach, start=TODAY - timedelta(days=10), title="First plan")
    program = make_program(coach, [make_item(title="Glute bridge")], name="Strength")
    new = plan_service.assign_program(
        patient, program, coach, title="Second plan", goals="", start_date=TODAY, replaces=old
    )
    db.session.commit()
    assert (old.status, old.active_key, old.end_date) == (PlanStatus.ENDED, None, TODAY)
    assert all(schedules(item)[-1][2] == TODAY for item in old.items)  # due until yesterday
    assert new.status == PlanStatus.ACTIVE and new.active_key == 1
    ended, assigned = events()[-2:]
    assert ended == (
        "plan.end",
        coach.id,
        patient.id,
        "Plan",
        old.id,
        {"plan": "First plan", "replaced_by_program": "Strength", "replaced_by_program_id": program.id},
    )
    assert assigned[0] == "plan.assign" and assigned[4] == new.id
    assert old.version > 1  # ending it is a save of the plan: its version goes up


# --- details and ending ---------------------------------------------------------------------------


def test_details_change_audits_the_fields_by_plan_title(patient, coach):
    _program, plan = assign(patient, coach)
    version = plan.version
    assert (
        plan_service.update_details(plan, title="Back plan", goals="Walk again.", start_date=TODAY, actor=coach) == []
    )
    db.session.commit()
    assert plan.version == version and events("plan.update") == []
    changed = plan_service.update_details(
        plan, title="Calmer back", goals="Walk again.", start_date=TODAY - timedelta(days=3), actor=coach
    )
    db.session.commit()
    assert changed == ["title", "start_date"]
    assert (plan.title, plan.start_date, plan.version) == ("Calmer back", TODAY - timedelta(days=3), version + 1)
    assert events("plan.update") == [
        (
            "plan.update",
            coach.id,
            patient.id,
            "Plan",
            plan.id,
            {"plan": "Calmer back", "fields": ["title", "start_date"]},
        )
    ]
    # The items it started with start with it.
    assert [row[1] for row in schedules(plan.items[0])] == [TODAY - timedelta(days=3)]
    plan_service.update_details(
        plan, title="Calmer back", goals="Rest.", start_date=TODAY - timedelta(days=3), actor=coach
    )
    assert events("plan.update")[-1][5] == {"plan": "Calmer back", "fields": ["goals"]}


def test_ending_a_plan(patient, coach):
    _program, plan = assign(patient, coach, start=TODAY - timedelta(days=5))
    plan_service.end_plan(plan, coach)
    db.session.commit()
    assert (plan.status, plan.active_key, plan.end_date) == (PlanStatus.ENDED, None, TODAY)
    assert [schedules(item)[0][2] for item in plan.items] == [TODAY, TODAY]
    assert events("plan.end") == [("plan.end", coach.id, patient.id, "Plan", plan.id, {"plan": "Back plan"})]
    assert plan_service.active_plan(patient.id) is None
    assert [p.id for p in plan_service.plan_history(patient.id)] == [plan.id]


# --- items ---------------------------------------------------------------------------------------


def test_adding_items_names_each_and_skips_those_already_there(patient, coach):
    _program, plan = assign(patient, coach, titles=("Pelvic tilt",))
    present = plan.items[0].library_item
    bird = make_item(title="Bird dog", default_sets=3, default_reps=8, default_times_per_day=2, default_days_per_week=3)
    version = plan.version
    added, skipped = plan_service.add_items(plan, [bird, present], coach)
    db.session.commit()
    assert skipped == [present]
    [item] = added
    assert (item.plan_id, item.position, item.sets, item.reps, item.times_per_day, item.weekdays) == (
        plan.id,
        1,
        3,
        8,
        2,
        "024",
    )
    assert plan.version == version + 1
    assert schedules(item) == [(patient.id, TODAY, None, 3, 8, None, 2, "024")]
    assert events("plan.item_add") == [
        ("plan.item_add", coach.id, patient.id, "Plan", plan.id, {"item": "Bird dog", "item_id": item.id})
    ]
    assert plan_service.add_items(plan, [present], coach) == ([], [present])
    db.session.commit()
    assert plan.version == version + 1  # nothing added: nothing saved


def test_a_retired_item_refuses_the_whole_batch(patient, coach):
    _program, plan = assign(patient, coach, titles=("Pelvic tilt",))
    retired = make_item(title="Old stretch", is_active=False)
    with pytest.raises(RetiredItemError):
        plan_service.add_items(plan, [make_item(title="Bird dog"), retired], coach)
    assert len(plan.items) == 1 and events("plan.item_add") == []


def test_changing_an_item_audits_the_fields_and_what_they_were(patient, coach):
    _program, plan = assign(patient, coach, titles=("Pelvic tilt",), start=TODAY - timedelta(days=7))
    item = plan.items[0]
    version = plan.version
    changed = plan_service.update_item(plan, item, Dose(3, 10, None, 2, "024", "Breathe out."), coach)
    db.session.commit()
    assert changed == ["sets", "times_per_day", "weekdays", "coach_note"]
    assert (item.sets, item.times_per_day, item.weekdays, item.coach_note, plan.version) == (
        3,
        2,
        "024",
        "Breathe out.",
        version + 1,
    )
    assert events("plan.item_update") == [
        (
            "plan.item_update",
            coach.id,
            patient.id,
            "Plan",
            plan.id,
            {
                "item": "Pelvic tilt",
                "item_id": item.id,
                "fields": ["sets", "times_per_day", "weekdays", "coach_note"],
                "before": {"sets": 2, "times_per_day": 1, "weekdays": "0123456"},
            },
        )
    ]
    assert schedules(item) == [
        (patient.id, TODAY - timedelta(days=7), TODAY, 2, 10, None, 1, "0123456"),
        (patient.id, TODAY, None, 3, 10, None, 2, "024"),
    ]
    # The same dose again: nothing changes, nothing is audited, the version stays.
    assert plan_service.update_item(plan, item, Dose(3, 10, None, 2, "024", "Breathe out."), coach) == []
    db.session.commit()
    assert plan.version == version + 1 and len(events("plan.item_update")) == 1
    # A note alone: audited, no new schedule row.
    plan_service.update_item(plan, item, Dose(3, 10, None, 2, "024", "Slowly."), coach)
    db.session.commit()
    assert events("plan.item_update")[-1][5]["fields"] == ["coach_note"]
    assert len(schedules(item)) == 2


def test_a_dose_out_of_bounds_changes_nothing(patient, coach):
    _program, plan = assign(patient, coach, titles=("Pelvic tilt",))
    item = plan.items[0]
    with pytest.raises(DoseError) as caught:
        plan_service.update_item(plan, item, Dose(3, 10, None, 0, "024"), coach)
    assert set(caught.value.problems) == {"times_per_day"}
    assert (item.sets, item.weekdays) == (2, "0123456") and events("plan.item_update") == []


def test_removing_an_item_keeps_it_stored_and_names_it(patient, coach):
    _program, plan = assign(patient, coach, start=TODAY - timedelta(days=4))
    item = plan.items[1]
    version = plan.version
    plan_service.remove_item(plan, item, coach)
    db.session.commit()
    assert item.is_active is False and item in plan.items and plan.version == version + 1
    assert schedules(item)[-1][2] == TODAY
    assert schedules(plan.items[0])[-1][2] is None  # the other item stays due
    assert events("plan.item_remove") == [
        ("plan.item_remove", coach.id, patient.id, "Plan", plan.id, {"item": "Bird dog", "item_id": item.id})
    ]
    assert plan_service.active_items(plan) == [plan.items[0]]
    with pytest.raises(NotFound):
        plan_service.active_plan_item(plan, item.id)


def test_moving_an_item_names_it_and_its_direction(patient, coach):
    _program, plan = assign(patient, coach, titles=("Pelvic tilt", "Bird dog", "Chin tuck"))
    first, second, third = plan.items
    version = plan.version
    assert plan_service.move_item(plan, first, "up", coach) is False
    db.session.commit()
    assert plan.version == version and events("plan.item_move") == []
    assert plan_service.move_item(plan, third, "up", coach) is True
    db.session.commit()
    assert [(i.library_item.title, i.position) for i in sorted(plan.items, key=lambda i: i.position)] == [
        ("Pelvic tilt", 0),
        ("Chin tuck", 1),
        ("Bird dog", 2),
    ]
    assert plan.version == version + 1
    assert events("plan.item_move") == [
        (
            "plan.item_move",
            coach.id,
            patient.id,
            "Plan",
            plan.id,
            {"item": "Chin tuck", "item_id": third.id, "direction": "up"},
        )
    ]
    assert plan_service.move_item(plan, second, "down", coach) is False


# --- reading plans ---------------------------------------------------------------------------


def test_plan_for_edit_refuses_another_patients_plan_an_ended_plan_and_a_stale_version(patient, coach, make_user):
    _program, plan = assign(patient, coach)
    other = make_user(Role.PATIENT, coach=coach)
    with pytest.raises(NotFound):
        plan_service.plan_for_edit(other, plan.id, plan.version)
    for version in (None, plan.version + 1):
        with pytest.raises(plan_service.PlanChanged) as caught:
            plan_service.plan_for_edit(patient, plan.id, version)
        assert caught.value.patient is patient
    assert plan_service.plan_for_edit(patient, plan.id, plan.version) is plan
    with pytest.raises(NotFound):  # a plan id that is nobody's: not the patient's own plan instead
        plan_service.plan_for_edit(patient, 10**6, plan.version)
    plan_service.end_plan(plan, coach)
    db.session.commit()
    with pytest.raises(plan_service.PlanChanged):
        plan_service.plan_for_edit(patient, plan.id, plan.version)


def test_plan_for_edit_opens_the_plan_asked_for_among_the_patients_plans(patient, coach):
    """A patient with an ended plan and its replacement: each id opens its own plan."""
    _program, old = assign(patient, coach, title="First plan")
    _program, new = assign(patient, coach, title="Second plan", replaces=old)
    assert plan_service.plan_for_edit(patient, new.id, new.version) is new
    with pytest.raises(plan_service.PlanChanged):
        plan_service.plan_for_edit(patient, old.id, old.version)


def test_active_plan_is_the_patients_own(patient, coach, make_user):
    """Another patient's active plan is never this patient's, whether or not they have one."""
    other = make_user(Role.PATIENT, coach=coach)
    _program, theirs = assign(other, coach, title="Theirs")
    assert plan_service.active_plan(patient.id) is None
    _program, first = assign(patient, coach, title="First plan")
    _program, mine = assign(patient, coach, title="Mine", replaces=first)
    assert plan_service.active_plan(patient.id) is mine
    assert plan_service.active_plan(other.id) is theirs


def test_patient_plan_item_and_active_plan_item(patient, coach, make_user):
    _program, plan = assign(patient, coach, titles=("Pelvic tilt", "Bird dog"))
    tilt, bird = plan.items
    assert plan_service.patient_plan_item(patient.id, tilt.library_item_id) == tilt
    other = make_user(Role.PATIENT, coach=coach)
    assert plan_service.patient_plan_item(other.id, tilt.library_item_id) is None
    assert plan_service.active_plan_item(plan, bird.id) is bird
    plan_service.remove_item(plan, bird, coach)
    db.session.commit()
    assert plan_service.patient_plan_item(patient.id, bird.library_item_id) is None
    with pytest.raises(NotFound):
        plan_service.active_plan_item(plan, 10**6)
    # An ended plan's items stay active rows, but are no longer the patient's plan.
    plan_service.end_plan(plan, coach)
    db.session.commit()
    assert tilt.is_active and plan_service.patient_plan_item(patient.id, tilt.library_item_id) is None


def test_plan_history_is_newest_first(patient, coach):
    _p, first = assign(patient, coach, title="First")
    _p, second = assign(patient, coach, title="Second", replaces=first)
    _p, third = assign(patient, coach, title="Third", replaces=second)
    assert [p.title for p in plan_service.plan_history(patient.id)] == ["Second", "First"]
    assert plan_service.active_plan(patient.id) is third
    assert db.session.scalar(db.select(db.func.count()).select_from(Plan)) == 3


def test_plan_history_orders_by_the_day_each_plan_ended(patient, coach, make_user):
    """A plan ended later is newer, whatever order the plans were made in (a backdated end); on one
    day, the later made comes first. Another patient's plans and the active plan are not history."""
    older = make_plan(patient, coach, [make_item()], title="Ended last", status=PlanStatus.ENDED)
    newer = make_plan(patient, coach, [make_item()], title="Ended first", status=PlanStatus.ENDED)
    same_day = make_plan(patient, coach, [make_item()], title="Ended first too", status=PlanStatus.ENDED)
    newer.end_date = same_day.end_date = TODAY - timedelta(days=30)
    make_plan(make_user(Role.PATIENT, coach=coach), coach, [make_item()], title="Theirs", status=PlanStatus.ENDED)
    assign(patient, coach, title="Current")
    db.session.commit()
    assert older.end_date == TODAY
    assert [p.title for p in plan_service.plan_history(patient.id)] == ["Ended last", "Ended first too", "Ended first"]


def test_roster_query_finds_by_name_or_email_only_the_coachs_active_patients(coach, make_user):
    mine = make_user(Role.PATIENT, coach=coach, name="Maria Gonzalez", email="maria@example.org")
    make_user(Role.PATIENT, coach=coach, name="James Carter", email="jc@example.org")
    make_user(Role.PATIENT, coach=make_user(Role.COACH), name="Maria Other", email="other@example.org")
    away = make_user(Role.PATIENT, coach=coach, name="Maria Away", email="away@example.org")
    away.is_active = False
    db.session.commit()
    _program, plan = assign(mine, coach)
    rows = db.session.execute(plan_service.roster_query(coach, "maria")).all()
    assert [(user.name, found.id if found else None) for user, found in rows] == [("Maria Gonzalez", plan.id)]
    rows = db.session.execute(plan_service.roster_query(coach, "JC@")).all()
    assert [(user.name, found) for user, found in rows] == [("James Carter", None)]
    names = [user.name for user, _plan in db.session.execute(plan_service.roster_query(coach))]
    assert names == ["James Carter", "Maria Gonzalez"]


def test_the_roster_shows_each_patient_once_with_their_active_plan_only(coach, make_user):
    """An ended plan is history, not the roster's plan: a patient whose plan ended shows none, and a
    patient with an ended and an active plan shows once, with the active one."""
    ended_only = make_user(Role.PATIENT, coach=coach, name="Ann Ended")
    make_plan(ended_only, coach, [make_item()], status=PlanStatus.ENDED)
    both = make_user(Role.PATIENT, coach=coach, name="Bea Both")
    make_plan(both, coach, [make_item()], status=PlanStatus.ENDED)
    _program, active = assign(both, coach)
    rows = db.session.execute(plan_service.roster_query(coach)).all()
    assert [(user.name, plan.id if plan else None) for user, plan in rows] == [
        ("Ann Ended", None),
        ("Bea Both", active.id),
    ]


def test_the_roster_lists_patients_only(coach, make_user):
    """A staff account whose row still names a coach (the account rules clear it; stored data may
    not) is not the coach's patient."""
    make_user(Role.PATIENT, coach=coach, name="Pat Patient")
    staff = make_user(Role.COACH, name="Cal Colleague")
    staff.coach_id = coach.id
    db.session.commit()
    assert [user.name for user, _plan in db.session.execute(plan_service.roster_query(coach))] == ["Pat Patient"]


def test_ending_a_plan_uses_the_patients_own_day(coach, make_user):
    """Noon in Chicago is already tomorrow at UTC+14: the plan ends on the patient's day."""
    far = make_user(Role.PATIENT, coach=coach, timezone="Pacific/Kiritimati")
    _program, plan = assign(far, coach, start=TODAY - timedelta(days=3))
    plan_service.end_plan(plan, coach)
    db.session.commit()
    assert plan.end_date == TODAY + timedelta(days=1)
    assert schedules(plan.items[0])[-1][2] == TODAY + timedelta(days=1)


def test_replacing_a_plan_ends_it_on_the_patients_own_day(coach, make_user):
    far = make_user(Role.PATIENT, coach=coach, timezone="Pacific/Kiritimati")
    _program, old = assign(far, coach, start=TODAY - timedelta(days=3))
    assign(far, coach, title="Next plan", start=TODAY + timedelta(days=1), replaces=old)
    assert old.end_date == TODAY + timedelta(days=1)
    assert schedules(old.items[0])[-1][2] == TODAY + timedelta(days=1)


def test_removing_an_item_ends_its_pause_only_on_the_patients_day(coach, make_user):
    from portal.care.pauses import pause_item

    far = make_user(Role.PATIENT, coach=coach, timezone="Pacific/Kiritimati")
    _program, plan = assign(far, coach, start=TODAY - timedelta(days=3))
    first, second = plan.items
    pause_item(plan, first, "Knee first", coach)
    pause_item(plan, second, "Knee first", coach)
    db.session.commit()
    plan_service.remove_item(plan, first, coach)
    db.session.commit()
    db.session.expire_all()
    assert first.open_pause is None and second.open_pause is not None
    assert schedules(first)[-1][2] == TODAY + timedelta(days=1)  # tomorrow already, where the patient is


def test_an_item_added_is_due_from_the_patients_own_day(coach, make_user):
    far = make_user(Role.PATIENT, coach=coach, timezone="Pacific/Kiritimati")
    _program, plan = assign(far, coach, titles=("Pelvic tilt",), start=TODAY - timedelta(days=3))
    [item], _skipped = plan_service.add_items(plan, [make_item(title="Bird dog")], coach)
    db.session.commit()
    assert schedules(item)[0][1] == TODAY + timedelta(days=1)
    plan_service.update_item(plan, item, Dose(3, 10, None, 2, "024", ""), coach)
    db.session.commit()
    assert [row[1:3] for row in schedules(item)] == [(TODAY + timedelta(days=1), None)]  # the same day: rewritten


def test_a_change_applies_from_the_patients_own_day(coach, make_user):
    far = make_user(Role.PATIENT, coach=coach, timezone="Pacific/Kiritimati")
    _program, plan = assign(far, coach, titles=("Pelvic tilt",), start=TODAY - timedelta(days=3))
    item = plan.items[0]
    plan_service.update_item(plan, item, Dose(3, 10, None, 2, "024", ""), coach)
    db.session.commit()
    assert [row[1:3] for row in schedules(item)] == [
        (TODAY - timedelta(days=3), TODAY + timedelta(days=1)),
        (TODAY + timedelta(days=1), None),
    ]
