"""Building the exports: one patient's Bundle, and the practice's bulk NDJSON files.

The bulk export walks the patients in batches (by id, BATCH at a time) and streams
each batch's check-ins, PEG checks and messages with ``yield_per`` (a server-side
cursor on PostgreSQL), writing each resource as soon as it is built. Check-ins and
PEG checks, nearly all of the rows, are read as plain column tuples, not ORM objects:
nothing enters the session's identity map, and memory stays flat however many
patients and days there are. The number of statements grows with the number of
batches only, never with the rows in them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from flask import current_app
from sqlalchemy import Row, func
from sqlalchemy.orm import selectinload

from portal import audit
from portal.auth.models import Role, User
from portal.care.models import Alert, CheckIn, ItemLog, Plan, PlanItem, WeeklyOutcome
from portal.care.red_flags import RED_FLAGS
from portal.exercises.translations import ItemText, item_texts
from portal.extensions import db
from portal.fhir import onboarding, resources
from portal.messaging.models import Message

BATCH = 500  # patients per batch
STREAM_ROWS = 5000  # rows fetched per round trip from a streamed query
# What an Observation and a QuestionnaireResponse are made of, read as plain rows.
CHECKIN_COLUMNS = (
    CheckIn.id,
    CheckIn.patient_id,
    CheckIn.day,
    CheckIn.updated_at,
    *(getattr(CheckIn, column) for column, *_rest in resources.CHECKIN_CODES),
    *(getattr(CheckIn, flag.field) for flag in RED_FLAGS),
)
OUTCOME_COLUMNS = (
    WeeklyOutcome.id,
    WeeklyOutcome.patient_id,
    WeeklyOutcome.week_start,
    WeeklyOutcome.created_at,
    WeeklyOutcome.updated_at,
    *(getattr(WeeklyOutcome, column) for column, *_rest in resources.PEG_ITEMS),
)
RESOURCE_TYPES = (
    "Patient",
    "Consent",
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


def _red_flag_paused(patient_ids: list[int]) -> set[int]:
    """Which of these patients have their exercises held by a red flag (one statement)."""
    return set(
        db.session.scalars(
            db.select(Alert.patient_id)
            .where(Alert.patient_id.in_(patient_ids), Alert.exercises_paused.is_(True))
            .distinct()
        )
    )


def _plan_resources(plans: list[Plan], texts: dict[int, ItemText], paused: set[int]) -> Iterator[dict]:
    for plan in plans:
        subject = f"Patient/patient-{plan.patient_id}"
        if plan.goals:
            yield resources.goal(plan, subject)
        yield resources.care_plan(plan, list(plan.items), texts, subject, plan.patient_id in paused)


def _texts(plans: list[Plan]) -> dict[int, ItemText]:
    library = {item.library_item_id: item.library_item for plan in plans for item in plan.items}
    return item_texts(library.values(), "en")


def _checkin_rows(patient_ids: list[int]) -> Iterator[Row]:
    return iter(
        db.session.execute(
            db.select(*CHECKIN_COLUMNS)
            .where(CheckIn.patient_id.in_(patient_ids))
            .order_by(CheckIn.patient_id, CheckIn.day)
            .execution_options(yield_per=STREAM_ROWS)
        )
    )


def _session_rows(patient_ids: list[int]) -> Iterator[Row]:
    """Sessions done per patient, plan and day (patient_id, day, plan_id, sessions, updated_at), streamed."""
    return iter(
        db.session.execute(
            db.select(
                ItemLog.patient_id,
                ItemLog.day,
                PlanItem.plan_id,
                func.sum(ItemLog.sessions_done).label("sessions"),
                func.max(ItemLog.updated_at).label("updated_at"),
            )
            .join(PlanItem, PlanItem.id == ItemLog.plan_item_id)
            .where(ItemLog.patient_id.in_(patient_ids), ItemLog.sessions_done > 0)
            .group_by(ItemLog.patient_id, ItemLog.day, PlanItem.plan_id)
            .order_by(ItemLog.patient_id, ItemLog.day, PlanItem.plan_id)
            .execution_options(yield_per=STREAM_ROWS)
        )
    )


def _outcome_rows(patient_ids: list[int]) -> Iterator[Row]:
    return iter(
        db.session.execute(
            db.select(*OUTCOME_COLUMNS)
            .where(WeeklyOutcome.patient_id.in_(patient_ids))
            .order_by(WeeklyOutcome.patient_id, WeeklyOutcome.week_start)
            .execution_options(yield_per=STREAM_ROWS)
        )
    )


def _messages(patient_ids: list[int]) -> Iterator[Message]:
    return iter(
        db.session.scalars(
            db.select(Message)
            .where(Message.patient_id.in_(patient_ids))
            .order_by(Message.patient_id, Message.sent_at, Message.id)
            .execution_options(yield_per=STREAM_ROWS)
        )
    )


def _subject(patient_id: int) -> str:
    return f"Patient/patient-{patient_id}"


def patient_resources(patient: User) -> Iterator[dict]:
    """Every resource of one patient's record (a fixed number of queries)."""
    subject = resources.patient_ref(patient)
    yield resources.patient(patient)
    plans = _plans([patient.id])
    yield from _plan_resources(plans, _texts(plans), _red_flag_paused([patient.id]))
    displays = resources.red_flag_displays()
    for checkin in _checkin_rows([patient.id]):
        yield from resources.observations(checkin, subject)
        yield resources.red_flag_screen(checkin, subject, displays)
    for row in _session_rows([patient.id]):
        yield resources.sessions_done(row, subject)
    outcomes = list(_outcome_rows([patient.id]))
    if outcomes:
        yield resources.peg_questionnaire()
    for outcome in outcomes:
        yield resources.questionnaire_response(outcome, subject)
    # Consents, the intake and the goals (portal.fhir.onboarding), with the Questionnaires they answer.
    known = list(onboarding.onboarding_resources([patient.id]))
    if any(resource["resourceType"] == "QuestionnaireResponse" for resource in known):
        yield onboarding.intake_questionnaire()
        yield onboarding.psfs_questionnaire()
    yield from known
    if include_messages():
        for message in _messages([patient.id]):
            yield resources.communication(message, patient)


def fhir_base_url() -> str:
    """The base of every fullUrl: the portal's public address (PUBLIC_BASE_URL), never the request's."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/fhir"


def patient_bundle(patient: User, base_url: str | None = None) -> dict:
    """The patient's record as a FHIR R4 Bundle of type collection (fullUrls on PUBLIC_BASE_URL)."""
    base_url = base_url or fhir_base_url()
    entries = [
        {"fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}", "resource": resource}
        for resource in patient_resources(patient)
    ]
    now = resources.now_instant()
    return {
        "resourceType": "Bundle",
        "id": f"record-{patient.id}",
        "meta": {"lastUpdated": now},
        "type": "collection",
        "timestamp": now,
        "entry": entries,
    }


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


# One encoder for millions of lines: json.dumps with options would build a new one per call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _write(out: IO[str], resource: dict) -> None:
    out.write(_encode(resource))
    out.write("\n")


def bulk_export(directory: Path) -> dict[str, int]:
    """Write one NDJSON file per resource type (FHIR Bulk Data style); returns the count per type."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = defaultdict(int)
    # Written under temporary names and renamed at the end: a download never gets a half-written file.
    files = {
        kind: (directory / f"{kind}.ndjson.part").open("w", encoding="utf-8", buffering=1 << 20)
        for kind in RESOURCE_TYPES
    }
    messages = include_messages()
    displays = resources.red_flag_displays()
    try:
        _write(files["Questionnaire"], resources.peg_questionnaire())
        counts["Questionnaire"] += 1
        newest = onboarding.newest_versions()
        for questionnaire in (onboarding.intake_questionnaire(), onboarding.psfs_questionnaire()):
            _write(files["Questionnaire"], questionnaire)
            counts["Questionnaire"] += 1
        for ids in _patient_id_batches():
            patients = {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(ids)).order_by(User.id))}
            for patient in patients.values():
                _write(files["Patient"], resources.patient(patient))
                counts["Patient"] += 1
            plans = _plans(ids)
            for resource in _plan_resources(plans, _texts(plans), _red_flag_paused(ids)):
                _write(files[resource["resourceType"]], resource)
                counts[resource["resourceType"]] += 1
            for checkin in _checkin_rows(ids):
                subject = _subject(checkin.patient_id)
                for resource in resources.observations(checkin, subject):
                    _write(files["Observation"], resource)
                    counts["Observation"] += 1
                _write(files["Observation"], resources.red_flag_screen(checkin, subject, displays))
                counts["Observation"] += 1
            for row in _session_rows(ids):
                _write(files["Observation"], resources.sessions_done(row, _subject(row.patient_id)))
                counts["Observation"] += 1
            for outcome in _outcome_rows(ids):
                _write(
                    files["QuestionnaireResponse"],
                    resources.questionnaire_response(outcome, _subject(outcome.patient_id)),
                )
                counts["QuestionnaireResponse"] += 1
            for resource in onboarding.onboarding_resources(ids, newest):
                _write(files[resource["resourceType"]], resource)
                counts[resource["resourceType"]] += 1
            if messages:
                for message in _messages(ids):
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
