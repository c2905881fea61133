"""Consents, the intake and the patient's goals in FHIR: Consent, QuestionnaireResponse (intake, each PSFS rating), Goal."""

from __future__ import annotations

from datetime import timedelta

from portal.care.onboarding_models import Goal, GoalRating, Intake
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.timeutil import local_today, utcnow
from tests.test_fhir import _check_bundle


def test_the_record_carries_consents_the_intake_and_each_goal(patient, patient_client, db):
    today = local_today(patient.tz)
    answers = {
        "where": "low_back",
        "since": "under_6_weeks",
        "episodes": "first",
        "worse": ["sitting", "bending"],
        "worse_other": "Long drives",
        "better": ["walking"],
        "posture": "sitting",
        "activity": "light",
        "sleep": "not",
        "peg_pain": 6,
        "peg_enjoyment": 5,
        "peg_activity": 7,
        **dict.fromkeys(RED_FLAG_FIELDS, False),
        "rf_fever": True,
    }
    db.session.add(
        Intake(patient_id=patient.id, answers=answers, steps_done=5, finished_at=utcnow(), finished_on=today)
    )
    lifting = Goal(patient_id=patient.id, activity="Lifting my grandson")
    retired = Goal(patient_id=patient.id, activity="Sitting through church", retired_at=utcnow())
    db.session.add_all([lifting, retired])
    db.session.flush()
    db.session.add_all(
        [
            GoalRating(goal_id=lifting.id, patient_id=patient.id, day=today - timedelta(days=14), score=3),
            GoalRating(goal_id=lifting.id, patient_id=patient.id, day=today, score=6),
            GoalRating(goal_id=retired.id, patient_id=patient.id, day=today - timedelta(days=14), score=5),
        ]
    )
    db.session.commit()
    bundle = patient_client.get("/me/export.fhir.json").json
    kinds = _check_bundle(bundle)  # every resource validates and every reference resolves
    resources = [entry["resource"] for entry in bundle["entry"]]
    assert kinds["Consent"] == 2
    consents = [r for r in resources if r["resourceType"] == "Consent"]
    assert {r["scope"]["coding"][0]["code"] for r in consents} == {"treatment", "patient-privacy"}
    assert all(r["status"] == "active" and r["policy"][0]["uri"].endswith("/1") for r in consents)
    intake = next(r for r in resources if r["id"].startswith("intake-"))
    assert intake["status"] == "completed"
    items = {item["linkId"]: item for group in intake["item"] for item in group["item"]}
    assert items["where"]["answer"] == [
        {
            "valueCoding": {
                "system": "https://holistiq.example/fhir/CodeSystem/intake",
                "code": "low_back",
                "display": "Low back",
            }
        }
    ]
    assert [a["valueCoding"]["code"] for a in items["worse"]["answer"]] == ["sitting", "bending"]
    assert items["worse_other"]["answer"] == [{"valueString": "Long drives"}]
    assert items["peg_pain"]["answer"] == [{"valueInteger": 6}] and items["rf_fever"]["answer"] == [
        {"valueBoolean": True}
    ]
    goals = {r["description"]["text"]: r for r in resources if r["id"].startswith("psfs-goal-")}
    assert goals["Lifting my grandson"]["lifecycleStatus"] == "active"
    assert goals["Lifting my grandson"]["target"][0]["detailInteger"] == 5  # the first rating and the 2 points
    assert goals["Sitting through church"]["lifecycleStatus"] == "cancelled"
    ratings = [r for r in resources if r["id"].startswith("psfs-") and r["resourceType"] == "QuestionnaireResponse"]
    assert len(ratings) == 3
    assert {r["url"] for r in resources if r["resourceType"] == "Questionnaire"} >= {
        "https://holistiq.example/fhir/Questionnaire/about-your-back",
        "https://holistiq.example/fhir/Questionnaire/psfs",
    }
