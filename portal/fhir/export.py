"""Building the exports: one patient's Bundle, and the practice's bulk NDJSON files.

The bulk export walks the patients in batches and streams each batch's rows with
``yield_per`` (a server-side cursor on PostgreSQL), writing each resource as soon
as it is built: memory stays flat however many patients and days there are.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from flask import current_app
from sqlalchemy.orm import selectinload

from portal import audit
from portal.auth.models import Role, User
from portal.care.models import CheckIn, Plan, PlanItem, WeeklyOutcome
from portal.exercises.translations import ItemText, item_texts
from portal.extensions import db
from portal.fhir import resources
from portal.messaging.models import Message

BATCH = 500
RESOURCE_TYPES = (
    "Patient",
    "Goal",
    "CarePlan",
    "Observation",
    "Questionnaire",
    "QuestionnaireResponse",
    "Communication",
)


def export_directory() -> Path:
    """Where `flask fhir export` writes and the admin page offers the files."""
    configured = current_app.config.get("FHIR_EXPORT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "fhir-export"


def include_messages() -> bool:
    return bool(current_app.config.get("FHIR_INCLUDE_MESSAGES"))


def _plans(patient_ids: list[int]) -> list[Plan]:
    return list(
        db.session.scalars(
            db.select(Plan)
            .where(Plan.patient_id.in_(patient_ids))
            .options(selectinload(Plan.items).selectinload(PlanItem.open_pause))
            .order_by(Plan.patient_id, Plan.id)
        )
    )


def _plan_resources(plans: list[Plan], texts: dict[int, ItemText]) -> Iterator[dict]:
    for plan in plans:
        subject = f"Patient/patient-{plan.patient_id}"
        if plan.goals:
            yield resources.goal(plan, subject)
        yield resources.care_plan(plan, list(plan.items), texts, subject)


def _texts(plans: list[Plan]) -> dict[int, ItemText]:
    library = {item.library_item_id: item.library_item for plan in plans for item in plan.items}
    return item_texts(library.values(), "en")


def patient_resources(patient: User) -> Iterator[dict]:
    """Every resource of one patient's record (a fixed number of queries)."""
    subject = resources.patient_ref(patient)
    yield resources.patient(patient)
    plans = _plans([patient.id])
    yield from _plan_resources(plans, _texts(plans))
    for checkin in db.session.scalars(db.select(CheckIn).where(CheckIn.patient_id == patient.id).order_by(CheckIn.day)):
        yield from resources.observations(checkin, subject)
    outcomes = db.session.scalars(
        db.select(WeeklyOutcome).where(WeeklyOutcome.patient_id == patient.id).order_by(WeeklyOutcome.week_start)
    ).all()
    if outcomes:
        yield resources.peg_questionnaire()
    for outcome in outcomes:
        yield resources.questionnaire_response(outcome, subject)
    if include_messages():
        for message in db.session.scalars(
            db.select(Message).where(Message.patient_id == patient.id).order_by(Message.sent_at, Message.id)
        ):
            yield resources.communication(message, patient)


def patient_bundle(patient: User, base_url: str) -> dict:
    """The patient's record as a FHIR R4 Bundle of type collection."""
    entries = [
        {"fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}", "resource": resource}
        for resource in patient_resources(patient)
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def audit_patient_export(patient: User, actor: User) -> None:
    audit.record("data.export", patient, actor=actor, patient=patient, format="fhir")


# --- the practice's bulk export -------------------------------------------------------


def _patient_id_batches() -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(
            db.session.scalars(
                db.select(User.id).where(User.role == Role.PATIENT, User.id > last).order_by(User.id).limit(BATCH)
            )
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def _write(out: IO[str], resource: dict) -> None:
    out.write(json.dumps(resource, separators=(",", ":"), ensure_ascii=False))
    out.write("\n")


def bulk_export(directory: Path) -> dict[str, int]:
    """Write one NDJSON file per resource type (FHIR Bulk Data style); returns the count per type."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = defaultdict(int)
    # Written under temporary names and renamed at the end: a download never gets a half-written file.
    files = {kind: (directory / f"{kind}.ndjson.part").open("w", encoding="utf-8") for kind in RESOURCE_TYPES}
    messages = include_messages()
    try:
        _write(files["Questionnaire"], resources.peg_questionnaire())
        counts["Questionnaire"] += 1
        for ids in _patient_id_batches():
            patients = {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))}
            for patient in patients.values():
                _write(files["Patient"], resources.patient(patient))
                counts["Patient"] += 1
            plans = _plans(ids)
            for resource in _plan_resources(plans, _texts(plans)):
                _write(files[resource["resourceType"]], resource)
                counts[resource["resourceType"]] += 1
            checkins = db.session.scalars(
                db.select(CheckIn).where(CheckIn.patient_id.in_(ids)).execution_options(yield_per=2000)
            )
            for checkin in checkins:
                for resource in resources.observations(checkin, f"Patient/patient-{checkin.patient_id}"):
                    _write(files["Observation"], resource)
                    counts["Observation"] += 1
            outcomes = db.session.scalars(
                db.select(WeeklyOutcome).where(WeeklyOutcome.patient_id.in_(ids)).execution_options(yield_per=2000)
            )
            for outcome in outcomes:
                _write(
                    files["QuestionnaireResponse"],
                    resources.questionnaire_response(outcome, f"Patient/patient-{outcome.patient_id}"),
                )
                counts["QuestionnaireResponse"] += 1
            if messages:
                rows = db.session.scalars(
                    db.select(Message).where(Message.patient_id.in_(ids)).execution_options(yield_per=2000)
                )
                for message in rows:
                    _write(files["Communication"], resources.communication(message, patients[message.patient_id]))
                    counts["Communication"] += 1
            db.session.expunge_all()  # the batch's objects are written: let them go
    finally:
        for handle in files.values():
            handle.close()
    for kind in RESOURCE_TYPES:
        (directory / f"{kind}.ndjson.part").replace(directory / f"{kind}.ndjson")
    audit.record("fhir.bulk_export", None, **{kind: counts.get(kind, 0) for kind in RESOURCE_TYPES})
    db.session.commit()
    return dict(counts)
