"""The coach starts from the intake: the "Intake" section, the suggested program and its rules, the roster's state."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.auth.models import Role
from portal.care.intake import POSTURE
from portal.care.models import Plan, PlanStatus
from portal.care.onboarding_models import Goal, GoalRating, Intake
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.care.suggestions import SEATED, SUGGESTION_RULES, _is, matching_rules, suggest
from portal.timeutil import local_today, utcnow
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_plan, make_program

SLUGS = (
    "flare-first-two-weeks",
    "desk-worker-posture-reset",
    "core-stability-builder",
    "safe-lifting-at-work-and-home",
    "walking-and-return-to-activity",
)
BASE = {
    "where": "low_back",
    "since": "over_12_weeks",
    "episodes": "several",
    "worse": ["sitting"],
    "worse_other": "",
    "better": ["walking"],
    "better_other": "",
    "posture": "standing",
    "activity": "moderate",
    "sleep": "not",
    "peg_pain": 6,
    "peg_enjoyment": 5,
    "peg_activity": 7,
    **dict.fromkeys(RED_FLAG_FIELDS, False),
}


@pytest.fixture
def starter_programs(db):
    item = make_item(title="Pelvic tilt")
    names = {
        "flare-first-two-weeks": "First two weeks after a spasm flare",
        "desk-worker-posture-reset": "Desk worker posture reset",
        "core-stability-builder": "Core stability builder",
        "safe-lifting-at-work-and-home": "Safe lifting for caregivers and warehouse workers",
        "walking-and-return-to-activity": "Walking and return to activity",
    }
    programs = {slug: make_program(items=[item], slug=slug, name=name) for slug, name in names.items()}
    db.session.commit()
    return programs


def _finish(db, patient, answers: dict, ratings=(("Lifting my grandson", 3), ("Sitting through church", 5))) -> None:
    today = local_today(patient.tz)
    db.session.add(
        Intake(patient_id=patient.id, answers=answers, steps_done=5, finished_at=utcnow(), finished_on=today)
    )
    for activity, score in ratings:
        goal = Goal(patient_id=patient.id, activity=activity)
        db.session.add(goal)
        db.session.flush()
        db.session.add(GoalRating(goal_id=goal.id, patient_id=patient.id, day=today, score=score))
    db.session.commit()


# --- one test per rule of the table ----------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "slug", "reasons"),
    [
        (
            {"since": "under_6_weeks", "where": "low_back", "posture": "sitting"},
            "desk-worker-posture-reset",
            ["pain for less than 6 weeks", "low back", "mostly sitting"],
        ),
        ({"since": "under_6_weeks", "where": "neck", "posture": "sitting"}, "flare-first-two-weeks", None),
        ({"since": "under_6_weeks", "posture": "lifting"}, "flare-first-two-weeks", ["pain for less than 6 weeks"]),
        ({"posture": "lifting"}, "safe-lifting-at-work-and-home", ["lifting or carrying"]),
        ({"posture": "driving"}, "desk-worker-posture-reset", ["driving"]),
        ({"activity": "inactive"}, "walking-and-return-to-activity", ["mostly inactive"]),
        ({}, "core-stability-builder", ["pain for more than 12 weeks", "low back"]),
    ],
)
def test_each_rule_suggests_its_program_with_the_reasons(starter_programs, changes, slug, reasons):
    suggestion = suggest({**BASE, **changes})
    assert suggestion.program.slug == slug
    if reasons is not None:
        assert suggestion.reasons == reasons


def test_every_rule_is_reachable_and_the_last_catches_everyone():
    assert SUGGESTION_RULES[-1].when == ()
    for rule in SUGGESTION_RULES:
        assert {slug for slug in SLUGS} >= {rule.program_slug}
    assert matching_rules({})[-1] is SUGGESTION_RULES[-1]


def test_a_condition_is_the_question_and_the_answers_that_meet_it():
    # The table's conditions are built while the module is imported; build one again to pin its shape.
    assert _is(POSTURE, "sitting", "driving") == SEATED == ("posture", frozenset({"sitting", "driving"}))


def test_a_missing_or_archived_program_falls_through_to_the_next_rule(starter_programs, db):
    starter_programs["desk-worker-posture-reset"].is_active = False
    db.session.commit()
    suggestion = suggest({**BASE, "since": "under_6_weeks", "posture": "sitting"})
    assert suggestion.program.slug == "flare-first-two-weeks"
    assert suggest(None) is None and suggest({}) is None  # no answers, no suggestion


# --- the coach's pages ---------------------------------------------------------------


def test_coach_sees_the_intake_and_assigns_the_suggestion(patient, coach_client, starter_programs, db):
    _finish(db, patient, {**BASE, "since": "under_6_weeks", "posture": "sitting"})
    html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert '<h2 id="intake-heading" class="h4">Intake</h2>' in html
    assert "Intake done" in html and "Where does it hurt?" in html and "Low back" in html
    assert "Baseline PEG" in html and "6.0 (pain 6, enjoyment 5, activity 7)" in html
    assert "Lifting my grandson" in html and "Sitting through church" in html
    assert "Suggested program: Desk worker posture reset" in html
    assert "Because: pain for less than 6 weeks, low back, mostly sitting." in html
    assert "Assign this program" in html
    form = re.search(
        r'<form method="post" action="(/coach/patients/\d+/plans)" class="d-inline">(.*?)</form>', html, re.S
    )
    data = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    response = coach_client.post(form.group(1), data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    plan = db.session.scalar(db.select(Plan).where(Plan.patient_id == patient.id, Plan.status == PlanStatus.ACTIVE))
    assert plan.program_id == starter_programs["desk-worker-posture-reset"].id
    assert plan.goals == "Lifting my grandson; Sitting through church"
    html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert "Suggested program:" not in html and "Intake done" in html


def test_no_suggestion_once_there_is_a_plan_or_before_the_intake_is_done(patient, coach_client, starter_programs, db):
    html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert "Intake not finished" in html and "Suggested program:" not in html
    _finish(db, patient, BASE)
    make_plan(patient, items=[make_item()])
    html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert "Suggested program:" not in html and "Intake done" in html


def test_goals_show_the_change_against_the_first_rating_marked_at_two_points(patient, coach_client, db):
    _finish(db, patient, BASE, ratings=(("Lifting my grandson", 3), ("Sitting through church", 5)))
    lifting, sitting = db.session.scalars(db.select(Goal).order_by(Goal.id)).all()
    later = local_today(patient.tz) + timedelta(days=14)
    db.session.add_all(
        [
            GoalRating(goal_id=lifting.id, patient_id=patient.id, day=later, score=5),
            GoalRating(goal_id=sitting.id, patient_id=patient.id, day=later, score=6),
        ]
    )
    db.session.commit()
    html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    rows = re.findall(
        r"<tr( class=\"table-success\" data-important-change)?>\s*<th scope=\"row\"[^>]*>([^<]+)</th>", html
    )
    assert ("", "Sitting through church") in rows
    assert (' class="table-success" data-important-change', "Lifting my grandson") in rows
    assert "+2" in html and "+1" in html and "2 points or more" in html


def test_roster_shows_the_intake_state_of_new_patients(coach, coach_client, make_user, db):
    done = make_user(Role.PATIENT, coach=coach, name="Dora Done")
    make_user(Role.PATIENT, coach=coach, name="Pete Pending")
    settled = make_user(Role.PATIENT, coach=coach, name="Sam Settled")
    _finish(db, done, BASE)
    make_plan(settled, items=[make_item()], start_date=local_today(settled.tz) - timedelta(days=40))
    html = coach_client.get("/coach/?sort=name").get_data(as_text=True)

    def cell(name: str) -> str:
        return re.search(rf">{name}</a>(.*?)</th>", html, re.S).group(1)

    assert "Intake done" in cell("Dora Done")
    assert "Intake not finished" in cell("Pete Pending")
    assert "Intake" not in cell("Sam Settled")  # an established patient: nothing to say


def test_coach_patient_page_stays_flat_as_goals_are_rated(patient, coach, coach_client, queries, db):
    _finish(db, patient, BASE, ratings=(("Lifting", 3),))
    make_plan(patient, coach, [make_item()])
    coach_client.get(f"/coach/patients/{patient.id}")
    with queries() as few:
        coach_client.get(f"/coach/patients/{patient.id}")
    goal = db.session.scalar(db.select(Goal))
    for weeks in range(1, 12):
        db.session.add(
            GoalRating(
                goal_id=goal.id,
                patient_id=patient.id,
                day=local_today(patient.tz) + timedelta(days=14 * weeks),
                score=5,
            )
        )
    for activity in ("Sitting", "Walking"):
        db.session.add(Goal(patient_id=patient.id, activity=activity))
    db.session.commit()
    with queries() as many:
        html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert "Walking" in html
    assert len(many) == len(few)


def test_another_coachs_patient_intake_is_not_shown(patient, make_user, login_as, db):
    _finish(db, patient, BASE)
    stranger = login_as(make_user(Role.COACH, name="Other Coach"))
    assert stranger.get(f"/coach/patients/{patient.id}").status_code == 404
    token = csrf_token(stranger, "/coach/")
    assert stranger.post(f"/coach/patients/{patient.id}/plans", data={"assign-csrf_token": token}).status_code == 404


def test_demo_data_every_patient_but_tyrone_has_consent_intake_and_goals(db):
    from portal.care.consent import consent_state
    from portal.demo import demo_patients, run_all
    from portal.demo.onboarding import NEW_PATIENT_EMAIL

    run_all()
    counts = [db.session.scalar(db.select(db.func.count(m.id))) for m in (Intake, Goal, GoalRating)]
    run_all()  # idempotent
    assert [db.session.scalar(db.select(db.func.count(m.id))) for m in (Intake, Goal, GoalRating)] == counts
    for person in demo_patients():
        intake = db.session.scalar(db.select(Intake).where(Intake.patient_id == person.id))
        goals = db.session.scalars(db.select(Goal).where(Goal.patient_id == person.id)).all()
        plan = db.session.scalar(db.select(Plan).where(Plan.patient_id == person.id))
        if person.email == NEW_PATIENT_EMAIL:
            assert person.name == "Tyrone Jackson"
            assert consent_state(person).required and intake is None and goals == [] and plan is None
        else:
            assert not consent_state(person).required, person.email
            assert intake.finished_at is not None and 2 <= len(goals) <= 3 and plan is not None
            assert all(len(goal.ratings) == 2 for goal in goals)
