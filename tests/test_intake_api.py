"""The intake and the goals through the API: the pages' services and checks, bad input refused beside the field."""

from __future__ import annotations

import pytest

from portal.auth.models import Role
from portal.care.models import Alert, AlertKind
from portal.care.onboarding_models import Goal, GoalRating, Intake
from portal.care.red_flags import RED_FLAG_FIELDS
from tests.test_api import API, bearer, sign_in

STEPS = (
    {"where": "low_back", "since": "under_6_weeks", "episodes": "first"},
    {"worse": ["sitting"], "worse_other": "Long drives", "better": ["walking"]},
    {"posture": "sitting", "activity": "light", "sleep": "not"},
    {"peg_pain": 6, "peg_enjoyment": 5, "peg_activity": 7, **dict.fromkeys(RED_FLAG_FIELDS, "no")},
)


@pytest.fixture
def headers(client, patient):
    return bearer(sign_in(client, patient))


def _put(client, headers, number: int, body: dict):
    return client.put(f"{API}/me/intake/steps/{number}", headers=headers, json=body)


def test_the_intake_in_steps_then_the_activities(client, headers, patient, db):
    intake = client.get(f"{API}/me/intake", headers=headers).json
    assert [s["number"] for s in intake["steps"]] == [1, 2, 3, 4, 5] and intake["next_step"] == 1
    where = intake["steps"][0]["questions"][0]
    assert where["name"] == "where" and {"code": "low_back", "label": "Low back"} in where["choices"]
    safety = [q for q in intake["steps"][3]["questions"] if q["kind"] == "yes_no"]
    assert {q["tier"] for q in safety} == {"emergency", "today", "soon"}
    for number, answers in enumerate(STEPS, start=1):
        response = _put(client, headers, number, {"answers": answers})
        assert response.status_code == 200, response.json
    assert response.json["next_step"] == 5 and response.json["answers"]["worse_other"] == "Long drives"
    done = _put(client, headers, 5, {"activities": [{"activity": "Lifting my grandson", "score": 3}]})
    assert done.status_code == 200 and done.json["finished_at"]
    goals = client.get(f"{API}/me/goals", headers=headers).json
    assert goals["goals"][0]["activity"] == "Lifting my grandson" and goals["goals"][0]["latest"] == 3
    assert goals["rating_due"] is False
    goal_id = goals["goals"][0]["id"]
    rated = client.post(
        f"{API}/me/goals/ratings",
        headers=headers,
        json={
            "ratings": [{"goal_id": goal_id, "score": 6}],
            "new": [{"activity": "Sitting through church", "score": 4}],
        },
    )
    assert rated.status_code == 200 and [g["latest"] for g in rated.json["goals"]] == [6, 4]


@pytest.mark.parametrize(
    ("number", "body", "field"),
    [
        (1, {"answers": dict(STEPS[0], where="shoulder")}, "where"),
        (1, {"answers": dict(STEPS[0], favourite_colour="blue")}, "favourite_colour"),
        (2, {"answers": dict(STEPS[1], better_other="a\nb")}, "better_other"),
        (4, {"answers": dict(STEPS[3], peg_pain=11)}, "peg_pain"),
        (4, {"answers": dict(STEPS[3], peg_pain=True)}, "peg_pain"),
        (4, {"answers": dict(STEPS[3], rf_fever="sometimes")}, "rf_fever"),
        (5, {"activities": [{"activity": "x" * 81, "score": 3}]}, "new-0-activity"),
        (5, {"activities": [{"activity": "Lifting", "score": -1}]}, "new-0-score"),
        (5, {"activities": [{"activity": f"Activity {n}", "score": 3} for n in range(4)]}, "new-3-activity"),
    ],
)
def test_bad_input_is_refused_beside_the_field_and_nothing_is_written(
    client, headers, patient, db, number, body, field
):
    for n, answers in enumerate(STEPS[: number - 1], start=1):
        assert _put(client, headers, n, {"answers": answers}).status_code == 200
    before = db.session.scalar(db.select(Intake.answers).where(Intake.patient_id == patient.id))
    response = _put(client, headers, number, body)
    assert response.status_code == 422, response.json
    assert field in [error["field"] for error in response.json["errors"]]
    db.session.expire_all()
    assert db.session.scalar(db.select(Intake.answers).where(Intake.patient_id == patient.id)) == before
    assert db.session.scalar(db.select(db.func.count(Goal.id))) == 0


def test_a_forged_step_is_a_409_or_404(client, headers, db):
    response = _put(client, headers, 3, {"answers": STEPS[2]})
    assert response.status_code == 409 and response.json["code"] == "intake_step_not_open"
    assert _put(client, headers, 9, {"answers": {}}).status_code == 404
    assert db.session.scalar(db.select(db.func.count(Intake.id))) == 0


def test_a_safety_yes_raises_the_same_alert_and_names_the_tier(client, headers, patient, db):
    for number, answers in enumerate(STEPS[:3], start=1):
        _put(client, headers, number, {"answers": answers})
    response = _put(client, headers, 4, {"answers": dict(STEPS[3], rf_leg_weakness="yes")})
    assert response.status_code == 200 and response.json["safety_tier"] == "emergency"
    alert = db.session.scalar(db.select(Alert).where(Alert.patient_id == patient.id, Alert.kind == AlertKind.RED_FLAG))
    assert alert.tier == "emergency"


def test_another_patients_goal_is_refused(client, headers, patient, make_user, coach, db):
    other = make_user(Role.PATIENT, coach=coach)
    theirs = Goal(patient_id=other.id, activity="Theirs")
    db.session.add(theirs)
    db.session.commit()
    response = client.post(
        f"{API}/me/goals/ratings", headers=headers, json={"ratings": [{"goal_id": theirs.id, "score": 9}]}
    )
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count(GoalRating.id))) == 0
