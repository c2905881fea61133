"""The patient's activities (PSFS) as the services keep them: what is refused and with which words, naming
them again at the intake's end, rating them every two weeks, and what Today, the coach and the chart read."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care import goals as goal_service
from portal.care.checkins import patient_today
from portal.care.goals import GoalError
from portal.care.onboarding_models import Goal, GoalRating, Intake
from portal.timeutil import utcnow

ONE_LINE = "Use one line of text, without line breaks, tabs or invisible characters."


def _intake(patient, steps_done: int, *, finished: bool = False) -> Intake:
    intake = Intake(patient_id=patient.id, answers={}, steps_done=steps_done)
    if finished:
        intake.finished_at = utcnow()
        intake.finished_on = patient_today(patient)
    return intake


def _goal(db, patient, activity: str, ratings=(), *, retired: bool = False) -> Goal:
    """An activity with its (days ago, score) ratings."""
    goal = Goal(patient_id=patient.id, activity=activity, retired_at=utcnow() if retired else None)
    db.session.add(goal)
    db.session.flush()
    today = patient_today(patient)
    for days_ago, score in ratings:
        db.session.add(
            GoalRating(goal_id=goal.id, patient_id=patient.id, day=today - timedelta(days=days_ago), score=score)
        )
    db.session.flush()
    return goal


def _refused(call, *args) -> dict[str, str]:
    with pytest.raises(GoalError) as refused:
        call(*args)
    return refused.value.errors


# --- what an activity and a rating may be ---------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Lifting my grandson  ", ("Lifting my grandson", None)),
        ("x" * 80, ("x" * 80, None)),
        ("x" * 81, (None, "Keep the activity to 80 characters or fewer.")),
        (42, (None, "Write the activity as text.")),
        ("", (None, None)),
        (None, (None, None)),
        # A non-breaking space (some keyboards type it, documents paste it) is text.
        ("Lifting\xa0boxes", ("Lifting\xa0boxes", None)),
        ("Lifting\x9fboxes", (None, ONE_LINE)),
        ("Lifting\x80boxes", (None, ONE_LINE)),
        ("Lifting\u2028boxes", (None, ONE_LINE)),
        ("Lifting\u2029boxes", (None, ONE_LINE)),
        ("Lifting\tboxes", (None, ONE_LINE)),
    ],
)
def test_an_activity_is_one_line_of_up_to_80_characters(app, raw, expected):
    assert goal_service.clean_activity(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", (0, None)),
        (" 10 ", (10, None)),
        ("07", (7, None)),
        (0, (0, None)),
        (10, (10, None)),
        ("", (None, "Rate this activity from 0 to 10.")),
        ("  ", (None, "Rate this activity from 0 to 10.")),
        (None, (None, "Rate this activity from 0 to 10.")),
        ("11", (None, "Choose a number from 0 to 10.")),
        ("007", (None, "Choose a number from 0 to 10.")),
        (-1, (None, "Choose a number from 0 to 10.")),
        (11, (None, "Choose a number from 0 to 10.")),
        (True, (None, "Choose a number from 0 to 10.")),
        ("five", (None, "Choose a number from 0 to 10.")),
    ],
)
def test_a_rating_is_a_whole_number_from_0_to_10(app, raw, expected):
    assert goal_service.clean_score(raw) == expected


def test_every_refused_row_is_named_and_blank_rows_are_skipped(app):
    errors = _refused(
        goal_service.clean_new_activities,
        [
            {"activity": "Lifting\nboxes", "score": "3"},
            {"activity": "", "score": ""},
            {"activity": "", "score": "4"},
            {"activity": "Walking", "score": "12"},
            {"activity": "x" * 81, "score": "5"},
        ],
    )
    assert errors == {
        "new-0-activity": ONE_LINE,
        "new-2-activity": "Name the activity you rated.",
        "new-3-score": "Choose a number from 0 to 10.",
        "new-4-activity": "Keep the activity to 80 characters or fewer.",
    }
    found = goal_service.clean_new_activities(
        [{"activity": "", "score": ""}, {"activity": "Walking", "score": "2"}, {"activity": "Sitting", "score": 0}]
    )
    assert found == [goal_service.NewActivity("Walking", 2), goal_service.NewActivity("Sitting", 0)]


def test_a_goal_error_reads_as_each_field_and_its_message(app):
    error = GoalError(
        {"new-0-activity": "Name the activity you rated.", "new-1-score": "Choose a number from 0 to 10."}
    )
    assert str(error) == "new-0-activity: Name the activity you rated.; new-1-score: Choose a number from 0 to 10."


# --- the intake's last step -----------------------------------------------------------------------


def test_the_last_step_refuses_a_fourth_activity_or_none_in_words(patient, db):
    db.session.add(_intake(patient, 4))
    db.session.flush()
    rows = [{"activity": f"Activity {n}", "score": "3"} for n in range(4)]
    assert _refused(goal_service.finish_intake, patient, rows) == {"new-3-activity": "Name up to 3 activities."}
    assert _refused(goal_service.finish_intake, patient, [{"activity": " ", "score": ""}]) == {
        "new-0-activity": "Name at least one activity that is hard because of your back."
    }


def test_going_back_to_the_last_step_renames_and_rerates_the_same_activities(patient, db):
    db.session.add(_intake(patient, 4))
    db.session.flush()
    goal_service.finish_intake(
        patient,
        [
            {"activity": "Lifting", "score": "3"},
            {"activity": "Sitting", "score": "5"},
            {"activity": "Driving", "score": "1"},
        ],
    )
    first = goal_service.active_goals(patient.id)
    assert [g.activity for g in first] == ["Lifting", "Sitting", "Driving"]
    # Sent again the same day: the two rows rename and re-rate the first two activities, the third is retired.
    goal_service.finish_intake(
        patient, [{"activity": "Lifting my grandson", "score": "4"}, {"activity": "Sitting", "score": "6"}]
    )
    again = goal_service.active_goals(patient.id)
    # In the order they were named, the renamed one too.
    assert [(g.id, g.activity) for g in again] == [(first[0].id, "Lifting my grandson"), (first[1].id, "Sitting")]
    rows = db.session.execute(
        db.select(GoalRating.goal_id, GoalRating.day, GoalRating.score).order_by(GoalRating.goal_id)
    ).all()
    today = patient_today(patient)
    assert [tuple(row) for row in rows] == [(first[0].id, today, 4), (first[1].id, today, 6), (first[2].id, today, 1)]
    db.session.refresh(first[2])
    assert first[2].retired_at is not None
    assert db.session.scalar(db.select(db.func.count(Goal.id))) == 3


# --- rating every two weeks ------------------------------------------------------------------------


def test_rating_again_retiring_and_naming_one_is_audited_and_returns_the_activities(patient, db):
    lifting = _goal(db, patient, "Lifting", [(14, 3)])
    sitting = _goal(db, patient, "Sitting", [(14, 5)])
    driving = _goal(db, patient, "Driving", [(14, 2)])
    kept = goal_service.rate_activities(
        patient, {lifting.id: "6", driving.id: "4"}, {sitting.id}, [{"activity": "Walking the dog", "score": "2"}]
    )
    assert [g.activity for g in kept] == ["Lifting", "Driving", "Walking the dog"]
    today = patient_today(patient)
    latest = dict(
        db.session.execute(db.select(GoalRating.goal_id, GoalRating.score).where(GoalRating.day == today)).all()
    )
    assert latest == {lifting.id: 6, driving.id: 4, kept[2].id: 2}
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "goals.rate"))
    assert (event.target_type, event.target_id, event.patient_id) == ("User", patient.id, patient.id)
    assert json.loads(event.detail) == {"activities": 3}


def test_the_first_activity_retired_the_next_is_still_rated(patient, db):
    lifting = _goal(db, patient, "Lifting", [(14, 3)])
    sitting = _goal(db, patient, "Sitting", [(14, 5)])
    kept = goal_service.rate_activities(patient, {sitting.id: "7"}, {lifting.id}, [])
    assert [g.activity for g in kept] == ["Sitting"]
    score = db.session.scalar(
        db.select(GoalRating.score).where(GoalRating.goal_id == sitting.id, GoalRating.day == patient_today(patient))
    )
    assert score == 7


def test_two_kept_and_one_new_make_three_but_a_fourth_is_refused(patient, db):
    lifting = _goal(db, patient, "Lifting", [(14, 3)])
    sitting = _goal(db, patient, "Sitting", [(14, 5)])
    new = [{"activity": "Walking", "score": "2"}]
    fourth = [{"activity": "Walking", "score": "2"}, {"activity": "Driving", "score": "1"}]
    assert _refused(goal_service.rate_activities, patient, {lifting.id: "4", sitting.id: "5"}, set(), fourth) == {
        "new-0-activity": "Keep to 3 activities: retire one before naming another."
    }
    kept = goal_service.rate_activities(patient, {lifting.id: "4", sitting.id: "5"}, set(), new)
    assert [g.activity for g in kept] == ["Lifting", "Sitting", "Walking"]


def test_retiring_every_activity_without_naming_one_is_refused(patient, db):
    lifting = _goal(db, patient, "Lifting", [(14, 3)])
    assert _refused(goal_service.rate_activities, patient, {}, {lifting.id}, []) == {
        "new-0-activity": "Keep at least one activity, or name a new one."
    }
    db.session.refresh(lifting)
    assert lifting.retired_at is None


def test_a_bad_new_activity_and_a_bad_rating_are_refused_together(patient, db):
    lifting = _goal(db, patient, "Lifting", [(14, 3)])
    errors = _refused(
        goal_service.rate_activities, patient, {lifting.id: "12"}, set(), [{"activity": "", "score": "3"}]
    )
    assert errors == {
        f"goal-{lifting.id}": "Choose a number from 0 to 10.",
        "new-0-activity": "Name the activity you rated.",
    }


def test_another_patients_activity_is_refused_whether_rated_or_retired(patient, make_user, coach, db):
    lifting = _goal(db, patient, "Lifting", [(14, 3)])
    other = make_user(Role.PATIENT, coach=coach)
    rated, retired = _goal(db, other, "Theirs"), _goal(db, other, "Theirs too")
    errors = _refused(goal_service.rate_activities, patient, {lifting.id: "4", rated.id: "5"}, {retired.id}, [])
    assert errors == {
        f"goal-{rated.id}": "This activity is not one of yours.",
        f"goal-{retired.id}": "This activity is not one of yours.",
    }


# --- what Today, the coach and the chart read ----------------------------------------------------------


def test_today_reads_the_patients_own_intake_and_active_activities(patient, make_user, coach, db):
    other = make_user(Role.PATIENT, coach=coach)
    # The other patient's intake and activities come first in the tables: only the patient's own are read.
    db.session.add(_intake(other, 5, finished=True))
    _goal(db, other, "Theirs", [(0, 9)])
    db.session.add(_intake(patient, 3))
    lifting = _goal(db, patient, "Lifting", [(0, 6), (28, 2), (14, 4)])
    _goal(db, patient, "Retired one", [(14, 1)], retired=True)
    sitting = _goal(db, patient, "Sitting")
    lifting.activity = "Lifting my grandson"  # renamed since: still read in the order they were named
    db.session.flush()
    today = patient_today(patient)
    state = goal_service.goals_today(patient.id)
    assert state.intake_steps_done == 3 and not state.intake_finished
    assert state.goals == [
        goal_service.GoalState(lifting.id, "Lifting my grandson", 6, today, 2, today - timedelta(days=28)),
        goal_service.GoalState(sitting.id, "Sitting", None, None, None, None),
    ]
    assert state.last_rated == today


def test_today_before_the_intake_and_once_it_is_finished(patient, make_user, coach, db):
    other = make_user(Role.PATIENT, coach=coach)
    db.session.add(_intake(other, 2))
    db.session.flush()
    assert goal_service.goals_today(patient.id) == goal_service.TodayGoals(0, False, [])
    # Finished, every activity since retired: still finished.
    db.session.add(_intake(patient, 5, finished=True))
    _goal(db, patient, "Retired one", [(14, 1)], retired=True)
    assert goal_service.goals_today(patient.id) == goal_service.TodayGoals(5, True, [])
    assert goal_service.goals_today(patient.id + other.id + 1000) == goal_service.TodayGoals(0, False, [])


def test_the_history_has_every_activity_with_its_ratings_oldest_first(patient, make_user, coach, db):
    other = make_user(Role.PATIENT, coach=coach)
    _goal(db, other, "Theirs", [(0, 9)])
    unrated = _goal(db, patient, "Not rated yet")
    # Ratings stored out of day order (a correction, an import) still read oldest first.
    lifting = _goal(db, patient, "Lifting", [(0, 6), (28, 2), (14, 4)], retired=True)
    today = patient_today(patient)
    history = goal_service.rating_history(patient.id)
    # The retired activity says so (the table marks it "retired").
    assert [(goal.id, goal.activity, goal.retired_at is not None) for goal, _ratings in history] == [
        (unrated.id, "Not rated yet", False),
        (lifting.id, "Lifting", True),
    ]
    assert history[0][1] == []
    assert history[1][1] == [
        goal_service.Rating(today - timedelta(days=28), 2),
        goal_service.Rating(today - timedelta(days=14), 4),
        goal_service.Rating(today, 6),
    ]
    # The chart skips the activity never rated, not the ones after it.
    chart = goal_service.goal_chart_data(history)
    assert chart == {
        "goals": {
            "labels": [(today - timedelta(days=d)).isoformat() for d in (28, 14, 0)],
            "series": [{"label": "Lifting", "data": [2, 4, 6]}],
        }
    }
