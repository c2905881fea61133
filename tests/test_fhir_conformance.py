"""FHIR an integrator can load: the official R4 JSON schema, US Core must-support elements, the care state
the pages show (pauses, red flags with their answers, sessions done), PEG weeks, meta.lastUpdated, fullUrls on
PUBLIC_BASE_URL, and the record through the API with a bearer token."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from bench.fhir_check import check
from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care.models import Alert, CheckIn, ItemLog, WeeklyOutcome
from portal.care.pauses import pause_item
from portal.extensions import db as _db
from portal.fhir import export
from portal.timeutil import local_today
from tests.fhir_conformance import schema_available, schema_errors, us_core_problems, validate_resource
from tests.plan_factories import make_item, make_plan
from tests.test_api import API, assert_problem, bearer, sign_in
from tests.test_fhir import _check_bundle


@pytest.fixture
def record(patient, coach):
    patient.phone = "(214) 555-0142"
    patient.date_of_birth = date(1971, 4, 9)
    patient.name = "Maria Elena Gonzalez"
    plan = make_plan(
        patient, coach, [make_item(title="Cat-cow stretch"), make_item(title="Posture check", kind="posture")]
    )
    today = local_today(patient.tz)
    yesterday = today - timedelta(days=1)
    _db.session.add(CheckIn(patient_id=patient.id, day=yesterday, pain=4, stiffness=3, spasm_episodes=1))
    flagged = CheckIn(patient_id=patient.id, day=today, pain=7, stiffness=6, spasm_episodes=2, rf_walking=True)
    _db.session.add(flagged)
    _db.session.add(ItemLog(plan_item_id=plan.items[0].id, patient_id=patient.id, day=yesterday, sessions_done=2))
    _db.session.add(ItemLog(plan_item_id=plan.items[1].id, patient_id=patient.id, day=yesterday, sessions_done=1))
    monday = today - timedelta(days=today.weekday() + 7)
    answered = datetime.combine(monday + timedelta(days=6), datetime.min.time()) + timedelta(hours=23)
    _db.session.add(
        WeeklyOutcome(
            patient_id=patient.id,
            week_start=monday,
            pain_average=5,
            enjoyment_interference=4,
            activity_interference=6,
            created_at=answered,
            updated_at=answered,
        )
    )
    _db.session.flush()
    # A red flag holds the exercises, as after a red-flag check-in.
    _db.session.add(
        Alert(patient_id=patient.id, kind="red_flag", summary="walking", checkin_id=flagged.id, exercises_paused=True)
    )
    _db.session.commit()
    return plan


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_official_r4_schema_is_installed_and_catches_a_wrong_resource():
    if not schema_available():
        pytest.skip("the FHIR R4 JSON schema is not installed (make test installs it: make fhir-schema)")
    assert schema_errors({"resourceType": "Patient", "id": "x", "gender": "robot"})
    assert schema_errors({"resourceType": "Observation", "id": "x", "status": "final"})  # no code
    assert schema_errors({"resourceType": "Patient", "id": "x", "birthDate": "1990-13-01"})
    assert not schema_errors({"resourceType": "Patient", "id": "x", "gender": "unknown"})
    assert us_core_problems({"resourceType": "Patient", "id": "x", "meta": {}})


def test_the_record_follows_us_core_and_carries_the_care_state(app, patient_client, patient, record):
    bundle = patient_client.get("/me/export.fhir.json").json
    _check_bundle(bundle)  # fhir.resources, the R4 schema and US Core for every entry; references resolve
    if schema_available():
        assert schema_errors(bundle) == []
    for entry in bundle["entry"]:
        assert entry["resource"]["meta"]["lastUpdated"]

    (person,) = _resources(bundle, "Patient")
    assert person["name"][0] == {
        "use": "official",
        "text": "Maria Elena Gonzalez",
        "family": "Gonzalez",
        "given": ["Maria", "Elena"],
    }
    assert person["birthDate"] == "1971-04-09"
    assert {"system": "phone", "value": "(214) 555-0142", "use": "mobile"} in person["telecom"]
    assert person["communication"][0]["language"]["coding"][0]["code"] == "en"
    assert person["gender"] == "unknown"

    (plan,) = _resources(bundle, "CarePlan")
    assert plan["category"][0]["coding"][0]["code"] == "assess-plan"
    assert plan["text"]["status"] == "generated" and "Cat-cow stretch" in plan["text"]["div"]
    exercise, posture = (activity["detail"] for activity in plan["activity"])
    # A red flag holds the exercises: on hold with the reason; a posture habit stays in progress.
    assert exercise["status"] == "on-hold" and "red-flag" in exercise["statusReason"]["text"]
    assert posture["status"] == "in-progress"
    assert exercise["quantity"] == {
        "value": 10,
        "unit": "repetitions",
        "system": "http://unitsofmeasure.org",
        "code": "{repetitions}",
    }
    assert exercise["scheduledTiming"]["repeat"] == {
        "frequency": 2,
        "period": 1,
        "periodUnit": "d",
        "duration": 5,
        "durationUnit": "s",
    }
    assert exercise["extension"][0]["valueInteger"] == 2  # sets

    observations = _resources(bundle, "Observation")
    screens = [o for o in observations if o["code"]["coding"][0]["code"] == "red-flag-screen"]
    assert len(screens) == 2
    flagged = next(o for o in screens if any(c["valueBoolean"] for c in o["component"]))
    walking = next(c for c in flagged["component"] if c["code"]["coding"][0]["code"] == "rf_walking")
    assert walking["valueBoolean"] is True and walking["interpretation"][0]["coding"][0]["code"] == "today"
    assert flagged["interpretation"][0]["coding"][0] == {
        "system": "https://holistiq.example/fhir/CodeSystem/red-flag-tier",
        "code": "today",
        "display": "Urgent",
    }
    assert {c["code"]["coding"][0]["code"] for c in flagged["component"]} >= {"rf_leg_weakness", "rf_fever"}
    calm = next(o for o in screens if o is not flagged)
    assert "interpretation" not in calm and not any(c["valueBoolean"] for c in calm["component"])
    sessions = [o for o in observations if o["code"]["coding"][0]["code"] == "sessions-done"]
    assert [(o["valueInteger"], o["basedOn"][0]["reference"]) for o in sessions] == [(3, f"CarePlan/{plan['id']}")]

    (peg,) = _resources(bundle, "QuestionnaireResponse")
    monday = local_today(patient.tz) - timedelta(days=local_today(patient.tz).weekday() + 7)
    assert peg["authored"].startswith((monday + timedelta(days=6)).isoformat() + "T23:00")
    period = peg["extension"][0]["valuePeriod"]
    assert period == {"start": monday.isoformat(), "end": (monday + timedelta(days=6)).isoformat()}


def test_a_coach_pause_shows_as_on_hold_with_its_reason(patient_client, patient, coach):
    plan = make_plan(patient, coach, [make_item(title="Bird dog")])
    pause_item(plan, plan.items[0], "Knee first", coach)
    _db.session.commit()
    (careplan,) = _resources(patient_client.get("/me/export.fhir.json").json, "CarePlan")
    detail = careplan["activity"][0]["detail"]
    assert detail["status"] == "on-hold" and detail["statusReason"]["text"] == "Knee first"
    validate_resource(careplan)


def test_full_urls_use_the_public_base_url(app, patient_client, record):
    before = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = "https://coach.clinic.example/portal"
    try:
        bundle = patient_client.get("/me/export.fhir.json").json
    finally:
        app.config["PUBLIC_BASE_URL"] = before
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert (
            entry["fullUrl"] == f"https://coach.clinic.example/portal/fhir/{resource['resourceType']}/{resource['id']}"
        )


def test_the_record_through_the_api_with_a_bearer_token(app, client, patient, coach, make_user, record):
    me = bearer(sign_in(client, patient))
    response = client.get(f"{API}/me/fhir", headers=me)
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    assert response.headers["Cache-Control"] == "no-store"
    kinds = _check_bundle(response.json)
    assert kinds["Patient"] == 1 and kinds["CarePlan"] == 1
    # The cookie alone opens nothing, and the page download needs no token: the two ways stay apart.
    assert_problem(client.get(f"{API}/me/fhir"), 401)
    staff = bearer(sign_in(app.test_client(), coach))
    assert client.get(f"{API}/coach/patients/{patient.id}/fhir", headers=staff).status_code == 200
    other_coach = make_user(Role.COACH)
    assert_problem(
        client.get(f"{API}/coach/patients/{patient.id}/fhir", headers=bearer(sign_in(client, other_coach))), 404
    )
    assert_problem(client.get(f"{API}/coach/patients/{patient.id}/fhir", headers=me), 403)
    exports = _db.session.scalars(_db.select(AuditEvent).where(AuditEvent.action == "data.export")).all()
    # Both downloads are recorded; rows without ORDER BY come back in any order on PostgreSQL.
    assert sorted((e.actor_id, e.target_type, e.patient_id) for e in exports) == sorted(
        [(patient.id, "User", patient.id), (coach.id, "User", patient.id)]
    )


def test_the_demo_data_exports_valid_us_core_fhir(app, db, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    counts = export.bulk_export(tmp_path / "demo")
    assert counts["Patient"] >= 10 and counts["QuestionnaireResponse"] > 0
    reports = check(tmp_path / "demo", sample=400)
    assert [(r.kind, r.problems) for r in reports if r.problems] == []
    # Demo PEG answers were given on their week's last day, not when the data was loaded.
    for line in (tmp_path / "demo" / "QuestionnaireResponse.ndjson").read_text().splitlines():
        peg = json.loads(line)
        if not peg["id"].startswith("peg-"):
            continue  # the intake's and the PSFS ratings' responses cover no week
        end = peg["extension"][0]["valuePeriod"]["end"]
        authored_day = date.fromisoformat(peg["authored"][:10])
        assert 0 <= (authored_day - date.fromisoformat(end)).days <= 1
