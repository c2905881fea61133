"""FHIR export: every resource validates with the fhir.resources models, references resolve, exports are audited."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care.models import CheckIn, WeeklyOutcome
from portal.extensions import db as _db
from portal.fhir.export import RESOURCE_TYPES
from portal.messaging.models import Message
from portal.timeutil import local_today
from tests.fhir_conformance import validate_resource
from tests.plan_factories import make_item, make_plan


def references(value) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [ref for inner in value.values() for ref in references(inner)]
    if isinstance(value, list):
        return [ref for inner in value for ref in references(inner)]
    return []


@pytest.fixture
def record(patient, coach):
    plan = make_plan(patient, coach, [make_item(title="Cat-cow stretch"), make_item(title="Pelvic tilt")])
    today = local_today(patient.tz)
    for back in range(3):
        _db.session.add(
            CheckIn(
                patient_id=patient.id, day=today - timedelta(days=back), pain=5 - back, stiffness=4, spasm_episodes=back
            )
        )
    _db.session.add(
        WeeklyOutcome(
            patient_id=patient.id,
            week_start=today - timedelta(days=today.weekday()),
            pain_average=4,
            enjoyment_interference=3,
            activity_interference=5,
        )
    )
    _db.session.add(
        Message(patient_id=patient.id, sender_id=patient.id, recipient_id=coach.id, body="Is swimming fine?")
    )
    _db.session.commit()
    return plan  # fmt: skip


def _check_bundle(bundle: dict) -> dict[str, int]:
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    ids = set()
    kinds: dict[str, int] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        validate_resource(resource)
        key = f"{resource['resourceType']}/{resource['id']}"
        assert entry["fullUrl"].endswith(key)
        ids.add(key)
        kinds[resource["resourceType"]] = kinds.get(resource["resourceType"], 0) + 1
    for entry in bundle["entry"]:
        for ref in references(entry["resource"]):
            assert ref in ids, f"{ref} does not resolve inside the bundle"
    return kinds


def test_patient_downloads_their_record_as_a_valid_bundle(patient_client, patient, record):
    response = patient_client.get("/me/export.fhir.json")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    assert "attachment" in response.headers["Content-Disposition"]
    bundle = response.json
    kinds = _check_bundle(bundle)
    assert kinds == {
        "Patient": 1,
        "Consent": 2,  # the coaching agreement and the privacy notice
        "Goal": 1,
        "CarePlan": 1,
        "Observation": 12,  # 3 check-ins × (pain, stiffness, spasms, red-flag screen)
        "Questionnaire": 1,
        "QuestionnaireResponse": 1,
    }
    pain = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation" and e["resource"]["code"]["coding"][0]["code"] == "72514-3"
    ]
    assert len(pain) == 3 and pain[0]["code"]["coding"][0]["system"] == "http://loinc.org"
    careplan = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan")
    assert careplan["status"] == "active" and len(careplan["activity"]) == 2
    assert careplan["activity"][0]["detail"]["scheduledTiming"]["repeat"]["periodUnit"] == "d"
    assert careplan["activity"][0]["detail"]["code"]["text"] == "Cat-cow stretch"
    event = _db.session.scalar(_db.select(AuditEvent).where(AuditEvent.action == "data.export"))
    assert event.patient_id == patient.id and "fhir" in event.detail  # fmt: skip


def test_messages_only_when_the_practice_turns_them_on(app, patient_client, record):
    assert "Is swimming fine?" not in patient_client.get("/me/export.fhir.json").get_data(as_text=True)
    app.config["FHIR_INCLUDE_MESSAGES"] = True
    try:
        bundle = patient_client.get("/me/export.fhir.json").json
    finally:
        app.config["FHIR_INCLUDE_MESSAGES"] = False
    assert _check_bundle(bundle)["Communication"] == 1


def test_coach_downloads_own_patient_only(coach_client, login_as, make_user, patient, record):
    response = coach_client.get(f"/coach/patients/{patient.id}/record.fhir.json")
    assert response.status_code == 200
    _check_bundle(response.json)
    other = login_as(make_user(Role.COACH))
    assert other.get(f"/coach/patients/{patient.id}/record.fhir.json").status_code == 404


def test_bulk_export_ndjson_validates_and_admin_downloads_it(app, admin_client, patient, make_user, record, tmp_path):
    make_plan(make_user(Role.PATIENT), None, [make_item(title="Bridge")])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["fhir", "export"])
    assert result.exit_code == 0, result.output
    directory = Path(app.config["FHIR_EXPORT_DIR"])
    ids = set()
    lines: list[dict] = []
    for kind in RESOURCE_TYPES:
        for line in (directory / f"{kind}.ndjson").read_text().splitlines():
            resource = json.loads(line)
            assert resource["resourceType"] == kind
            validate_resource(resource)
            ids.add(f"{kind}/{resource['id']}")
            lines.append(resource)
    assert sum(1 for r in lines if r["resourceType"] == "Patient") == 2
    for resource in lines:
        for ref in references(resource):
            assert ref in ids
    page = admin_client.get("/admin/fhir-export").get_data(as_text=True)
    assert "Observation" in page
    download = admin_client.get("/admin/fhir-export/Observation.ndjson")
    assert download.status_code == 200 and download.mimetype == "application/fhir+ndjson"
    assert len(download.get_data(as_text=True).splitlines()) == 12
    download.close()
    assert admin_client.get("/admin/fhir-export/Secrets.ndjson").status_code == 404
    actions = set(_db.session.scalars(_db.select(AuditEvent.action)))
    assert {"fhir.bulk_export", "fhir.bulk_download"} <= actions
    assert re.search(r"Wrote \d+ resources", result.output)
