"""Our records as FHIR R4 resources (plain JSON-ready dicts).

The mapping (also in the README):
- User (patient) -> Patient
- Plan -> CarePlan (status, period, one activity per item with its schedule as a Timing)
  and a Goal for the plan's goals text
- CheckIn -> Observation per value: pain with LOINC 72514-3; stiffness and spasm
  episodes with our code system CHECKIN_CODES (no standard code fits a 0-10
  stiffness self-rating or a count of spasm episodes)
- WeeklyOutcome (PEG) -> QuestionnaireResponse answering PEG_QUESTIONNAIRE, which we publish
- Message -> Communication, only when FHIR_INCLUDE_MESSAGES is on
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Row

from portal.auth.models import User
from portal.care.models import CheckIn, Plan, PlanItem, WeeklyOutcome
from portal.exercises.translations import ItemText
from portal.messaging.models import Message

CODE_SYSTEM = "https://holistiq.example/fhir/CodeSystem/checkin"
PATIENT_ID_SYSTEM = "https://holistiq.example/fhir/patient-id"
PEG_QUESTIONNAIRE_URL = "https://holistiq.example/fhir/Questionnaire/peg"
LOINC = "http://loinc.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PLAN_STATUS = {"active": "active", "ended": "completed"}

# (column, code, display, system): each check-in value we export as an Observation.
CHECKIN_CODES = (
    ("pain", "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported", LOINC),
    ("stiffness", "stiffness", "Back stiffness, self-rated 0-10", CODE_SYSTEM),
    ("spasm_episodes", "spasm-episodes", "Muscle spasm episodes since the day before", CODE_SYSTEM),
)

PEG_ITEMS = (
    ("pain_average", "1", "What number best describes your pain on average in the past week? (0-10)"),
    ("enjoyment_interference", "2", "What number best describes how, during the past week, pain has interfered with your enjoyment of life? (0-10)"),
    ("activity_interference", "3", "What number best describes how, during the past week, pain has interfered with your general activity? (0-10)"),
)  # fmt: skip


def _instant(value: datetime) -> str:
    """Stored timestamps are naive UTC: FHIR wants an offset."""
    return value.replace(tzinfo=UTC).isoformat()


def patient_ref(patient: User) -> str:
    return f"Patient/patient-{patient.id}"


def patient(user: User) -> dict:
    return {
        "resourceType": "Patient",
        "id": f"patient-{user.id}",
        "identifier": [{"system": PATIENT_ID_SYSTEM, "value": str(user.id)}],
        "active": bool(user.is_active),
        "name": [{"text": user.name}],
        "telecom": [{"system": "email", "value": user.email}],
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": user.language or "en"}]}, "preferred": True}
        ],
    }


def goal(plan: Plan, subject: str) -> dict:
    return {
        "resourceType": "Goal",
        "id": f"goal-{plan.id}",
        "lifecycleStatus": "active" if plan.status == "active" else "completed",
        "description": {"text": plan.goals},
        "subject": {"reference": subject},
    }


def _timing(item: PlanItem) -> dict:
    days = [WEEKDAY_CODES[int(d)] for d in item.weekdays if d.isdigit() and int(d) < 7]
    repeat: dict = {"frequency": item.times_per_day or 1, "period": 1, "periodUnit": "d"}
    if days and len(days) < 7:
        repeat["dayOfWeek"] = days
    return {"repeat": repeat}


def _dose_text(item: PlanItem) -> str:
    parts = []
    if item.sets:
        parts.append(f"{item.sets} sets")
    if item.reps:
        parts.append(f"{item.reps} reps")
    if item.hold_seconds:
        parts.append(f"hold {item.hold_seconds} s")
    return ", ".join(parts)


def care_plan(plan: Plan, items: list[PlanItem], texts: dict[int, ItemText], subject: str) -> dict:
    activities = []
    for item in items:
        text = texts[item.library_item_id]
        description = text.summary + (f" ({_dose_text(item)})" if _dose_text(item) else "")
        running = item.is_active and plan.status == "active"
        detail = {
            "code": {"coding": [{"system": f"{CODE_SYSTEM}-item", "code": item.library_item.slug}], "text": text.title},
            "status": ("on-hold" if item.open_pause is not None else "in-progress") if running else "stopped",
            "scheduledTiming": _timing(item),
            "description": description + ("\n" + text.instructions if text.instructions else ""),
        }  # fmt: skip
        if running and item.open_pause is not None:
            # Paused by the coach: the reason the patient was shown.
            detail["statusReason"] = {"text": item.open_pause.reason}
        activities.append({"detail": detail})
    period = {"start": plan.start_date.isoformat()}
    if plan.end_date:
        period["end"] = plan.end_date.isoformat()
    resource = {
        "resourceType": "CarePlan",
        "id": f"careplan-{plan.id}",
        "status": PLAN_STATUS.get(plan.status, "unknown"),
        "intent": "plan",
        "title": plan.title,
        "subject": {"reference": subject},
        "period": period,
        "activity": activities,
    }
    if plan.goals:
        resource["goal"] = [{"reference": f"Goal/goal-{plan.id}"}]
    return resource


def observations(checkin: CheckIn | Row, subject: str) -> Iterable[dict]:
    """One Observation per check-in value; ``checkin`` may be a plain row of its columns (the bulk export)."""
    for column, code, display, system in CHECKIN_CODES:
        value = getattr(checkin, column)
        if value is None:
            continue
        yield {
            "resourceType": "Observation",
            "id": f"checkin-{checkin.id}-{code.replace('_', '-')}",
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
            "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
            "subject": {"reference": subject},
            "effectiveDateTime": checkin.day.isoformat(),
            "valueInteger": int(value),
        }


def peg_questionnaire() -> dict:
    """The PEG three-item scale as we ask it: the Questionnaire our responses point to."""
    return {
        "resourceType": "Questionnaire",
        "id": "peg",
        "url": PEG_QUESTIONNAIRE_URL,
        "name": "PEG",
        "title": "PEG: pain intensity and interference (past week)",
        "status": "active",
        "subjectType": ["Patient"],
        "item": [{"linkId": link, "text": text, "type": "integer", "required": True} for _col, link, text in PEG_ITEMS],
    }


def questionnaire_response(outcome: WeeklyOutcome | Row, subject: str) -> dict:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"peg-{outcome.id}",
        "questionnaire": PEG_QUESTIONNAIRE_URL,
        "status": "completed",
        "subject": {"reference": subject},
        "authored": _instant(outcome.created_at),
        "item": [
            {"linkId": link, "text": text, "answer": [{"valueInteger": getattr(outcome, column)}]}
            for column, link, text in PEG_ITEMS
        ],
    }


def communication(message: Message, patient_user: User) -> dict:
    subject = patient_ref(patient_user)
    from_patient = message.sender_id == patient_user.id
    resource = {
        "resourceType": "Communication",
        "id": f"message-{message.id}",
        "status": "completed",
        "subject": {"reference": subject},
        "sent": _instant(message.sent_at),
        "payload": [{"contentString": message.body}],
    }
    if from_patient:
        resource["sender"] = {"reference": subject}
    else:
        resource["recipient"] = [{"reference": subject}]
    if message.read_at:
        resource["received"] = _instant(message.read_at)
    return resource
