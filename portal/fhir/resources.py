"""Our records as FHIR R4 resources (plain JSON-ready dicts).

The mapping (also in the README):
- User (patient) -> Patient, following US Core where the data exists: name (text, family, given),
  birthDate, telecom (phone and email), communication.language; gender "unknown" (not recorded)
- Plan -> CarePlan (US Core: category assess-plan, generated narrative; status, period; one
  activity per item with its dose structured: scheduledTiming (times a day, weekdays, hold as
  duration), quantity (repetitions per set) and the sets as an extension; on-hold with the
  reason while the coach paused the item or a red flag holds the exercises) and a Goal for the
  plan's goals text
- CheckIn -> Observation per value: pain with LOINC 72514-3; stiffness and spasm
  episodes with our code system CHECKIN_CODES (no standard code fits a 0-10
  stiffness self-rating or a count of spasm episodes); and one red-flag screen Observation per
  check-in: a component per safety question (valueBoolean), each "yes" interpreted with its
  tier, and the check-in's highest tier as the Observation's interpretation
- ItemLog -> one Observation per plan and day: the sessions done that day (valueInteger), based
  on the CarePlan (a daily total rather than a completed activity per session: the activity
  stays the plan's, the Observation is what happened on the day)
- WeeklyOutcome (PEG) -> QuestionnaireResponse answering PEG_QUESTIONNAIRE, which we publish;
  ``authored`` is when it was answered (or last corrected), and the week it covers is an
  extension (valuePeriod) and its identifier
- Message -> Communication, only when FHIR_INCLUDE_MESSAGES is on
Every resource carries meta.lastUpdated: when its row last changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from html import escape

from sqlalchemy import Row

from portal.auth.models import User
from portal.care.models import CheckIn, Plan, PlanItem, WeeklyOutcome
from portal.care.red_flags import RED_FLAGS, TIER_RULES, Tier, highest_tier
from portal.care.today import PAUSABLE_KINDS as PAUSED_BY_RED_FLAG
from portal.exercises.translations import ItemText
from portal.i18n import force_locale
from portal.messaging.models import Message
from portal.timeutil import utcnow

CODE_SYSTEM = "https://holistiq.example/fhir/CodeSystem/checkin"
PATIENT_ID_SYSTEM = "https://holistiq.example/fhir/patient-id"
PEG_QUESTIONNAIRE_URL = "https://holistiq.example/fhir/Questionnaire/peg"
LOINC = "http://loinc.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PLAN_STATUS = {"active": "active", "ended": "completed"}
RED_FLAG_SYSTEM = "https://holistiq.example/fhir/CodeSystem/red-flag"
TIER_SYSTEM = "https://holistiq.example/fhir/CodeSystem/red-flag-tier"
STRUCTURE = "https://holistiq.example/fhir/StructureDefinition"
PEG_WEEK_SYSTEM = "https://holistiq.example/fhir/peg-week"
UCUM = "http://unitsofmeasure.org"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
# When our PEG Questionnaire was last changed (it is published once, with the code).
PEG_QUESTIONNAIRE_UPDATED = datetime(2026, 1, 5, tzinfo=UTC)
RED_FLAG_SCREEN = ("red-flag-screen", "Red-flag safety questions (back pain), answered at the daily check-in")
SESSIONS_DONE = ("sessions-done", "Home-plan sessions done on the day")

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
    return value.replace(tzinfo=UTC).isoformat() if value.tzinfo is None else value.isoformat()


def now_instant() -> str:
    return _instant(utcnow())


def _meta(updated: datetime | None, profile: str | None = None) -> dict:
    meta: dict = {"lastUpdated": _instant(updated or datetime(1970, 1, 1))}
    if profile:
        meta["profile"] = [f"{US_CORE}/{profile}"]
    return meta


def _name(full: str) -> dict:
    """A HumanName from the one name we store: the last word as family, the others as given."""
    words = full.split()
    name: dict = {"use": "official", "text": full}
    if words:
        name["family"] = words[-1]
        if len(words) > 1:
            name["given"] = words[:-1]
    return name


def patient_ref(patient: User) -> str:
    return f"Patient/patient-{patient.id}"


LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


def patient(user: User) -> dict:
    """A US Core Patient: what the portal records of the patient (no gender is recorded: "unknown")."""
    telecom = []
    if user.phone:
        telecom.append({"system": "phone", "value": user.phone, "use": "mobile"})
    telecom.append({"system": "email", "value": user.email})
    language = user.language or "en"
    resource = {
        "resourceType": "Patient",
        "id": f"patient-{user.id}",
        "meta": _meta(getattr(user, "updated_at", None) or user.created_at, "us-core-patient"),
        "identifier": [{"system": PATIENT_ID_SYSTEM, "value": str(user.id)}],
        "active": bool(user.is_active),
        "name": [_name(user.name)],
        "telecom": telecom,
        "gender": "unknown",
        "communication": [
            {
                "language": {
                    "coding": [
                        {
                            "system": "urn:ietf:bcp:47",
                            "code": language,
                            "display": LANGUAGE_NAMES.get(language, language),
                        }
                    ]
                },
                "preferred": True,
            }
        ],
    }
    if user.date_of_birth:
        resource["birthDate"] = user.date_of_birth.isoformat()
    return resource


def goal(plan: Plan, subject: str) -> dict:
    return {
        "resourceType": "Goal",
        "id": f"goal-{plan.id}",
        "meta": _meta(plan.updated_at),
        "lifecycleStatus": "active" if plan.status == "active" else "completed",
        "description": {"text": plan.goals},
        "subject": {"reference": subject},
    }


def _timing(item: PlanItem) -> dict:
    """When: times a day, on which weekdays, and how long each hold lasts."""
    days = [WEEKDAY_CODES[int(d)] for d in item.weekdays if d.isdigit() and int(d) < 7]
    repeat: dict = {"frequency": item.times_per_day or 1, "period": 1, "periodUnit": "d"}
    if days and len(days) < 7:
        repeat["dayOfWeek"] = days
    if item.hold_seconds:
        repeat["duration"] = item.hold_seconds
        repeat["durationUnit"] = "s"
    return {"repeat": repeat}


def _dose(item: PlanItem, detail: dict) -> None:
    """How much: repetitions per set as the activity's quantity, the number of sets as an extension."""
    if item.reps:
        detail["quantity"] = {"value": item.reps, "unit": "repetitions", "system": UCUM, "code": "{repetitions}"}
    if item.sets:
        detail["extension"] = [{"url": f"{STRUCTURE}/exercise-sets", "valueInteger": item.sets}]


def _dose_text(item: PlanItem) -> str:
    parts = []
    if item.sets:
        parts.append(f"{item.sets} sets")
    if item.reps:
        parts.append(f"{item.reps} reps")
    if item.hold_seconds:
        parts.append(f"hold {item.hold_seconds} s")
    return ", ".join(parts)


RED_FLAG_PAUSE_REASON = "Paused after a red-flag answer, until the coach has checked in with the patient"


def _narrative(plan: Plan, rows: list[tuple[str, str, str]]) -> dict:
    """The plan in words for a person reading the record (US Core asks for the CarePlan's narrative)."""
    items = "".join(
        f"<li>{escape(title)}{' — ' + escape(dose) if dose else ''}{' (' + escape(state) + ')' if state else ''}</li>"
        for title, dose, state in rows
    )
    goals = f"<p>Goals: {escape(plan.goals)}</p>" if plan.goals else ""
    div = f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{escape(plan.title)}</p>{goals}<ul>{items}</ul></div>'
    return {"status": "generated", "div": div}


def care_plan(
    plan: Plan, items: list[PlanItem], texts: dict[int, ItemText], subject: str, red_flag_paused: bool = False
) -> dict:
    """The plan as a US Core CarePlan; ``red_flag_paused``: a red flag holds the patient's exercises."""
    activities = []
    rows = []
    for item in items:
        text = texts[item.library_item_id]
        dose = _dose_text(item)
        description = text.summary + (f" ({dose})" if dose else "")
        running = item.is_active and plan.status == "active"
        held_by_red_flag = running and red_flag_paused and item.library_item.kind in PAUSED_BY_RED_FLAG
        on_hold = running and (item.open_pause is not None or held_by_red_flag)
        detail = {
            "code": {"coding": [{"system": f"{CODE_SYSTEM}-item", "code": item.library_item.slug}], "text": text.title},
            "status": ("on-hold" if on_hold else "in-progress") if running else "stopped",
            "scheduledTiming": _timing(item),
            "description": description + ("\n" + text.instructions if text.instructions else ""),
        }  # fmt: skip
        _dose(item, detail)
        if running and item.open_pause is not None:
            # Paused by the coach: the reason the patient was shown.
            detail["statusReason"] = {"text": item.open_pause.reason}
        elif held_by_red_flag:
            detail["statusReason"] = {"text": RED_FLAG_PAUSE_REASON}
        activities.append({"detail": detail})
        state = "" if detail["status"] == "in-progress" else detail["status"]
        rows.append((text.title, dose, state))
    period = {"start": plan.start_date.isoformat()}
    if plan.end_date:
        period["end"] = plan.end_date.isoformat()
    resource = {
        "resourceType": "CarePlan",
        "id": f"careplan-{plan.id}",
        "meta": _meta(plan.updated_at, "us-core-careplan"),
        "text": _narrative(plan, rows),
        "status": PLAN_STATUS.get(plan.status, "unknown"),
        "intent": "plan",
        "category": [{"coding": [{"system": CAREPLAN_CATEGORY, "code": "assess-plan"}]}],
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
            "meta": _meta(checkin.updated_at),
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
            "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
            "subject": {"reference": subject},
            "effectiveDateTime": checkin.day.isoformat(),
            "valueInteger": int(value),
        }


def tier_concept(tier: Tier) -> dict:
    """A red-flag tier (emergency, today, soon) with the alert severity it raises as its display."""
    return {"coding": [{"system": TIER_SYSTEM, "code": tier.value, "display": TIER_RULES[tier].severity}]}


def red_flag_displays() -> dict[str, str]:
    """The questions' displays in English, whoever downloads the record (a code's display is the code
    system's, not the reader's); built once per export and passed to ``red_flag_screen``."""
    with force_locale("en"):
        return {flag.field: str(flag.label) for flag in RED_FLAGS}


def red_flag_screen(checkin: CheckIn | Row, subject: str, displays: dict[str, str]) -> dict:
    """The check-in's safety questions as one Observation: a component per question (true: answered yes),
    each yes interpreted with its question's tier, and the highest tier answered as the interpretation."""
    components = []
    for flag in RED_FLAGS:
        answer = bool(getattr(checkin, flag.field))
        component: dict = {
            "code": {"coding": [{"system": RED_FLAG_SYSTEM, "code": flag.field, "display": displays[flag.field]}]},
            "valueBoolean": answer,
        }
        if answer:
            component["interpretation"] = [tier_concept(flag.tier)]
        components.append(component)
    code, display = RED_FLAG_SCREEN
    resource = {
        "resourceType": "Observation",
        "id": f"checkin-{checkin.id}-red-flags",
        "meta": _meta(checkin.updated_at),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": {"coding": [{"system": CODE_SYSTEM, "code": code, "display": display}], "text": display},
        "subject": {"reference": subject},
        "effectiveDateTime": checkin.day.isoformat(),
        "component": components,
    }
    tier = highest_tier(checkin)
    if tier is not None:
        resource["interpretation"] = [tier_concept(tier)]
    return resource


def sessions_done(row: Row, subject: str) -> dict:
    """A day's sessions of one plan, from its item logs: (patient_id, day, plan_id, sessions, updated_at)."""
    code, display = SESSIONS_DONE
    return {
        "resourceType": "Observation",
        "id": f"sessions-{row.plan_id}-{row.day.isoformat()}",
        "meta": _meta(row.updated_at),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "activity"}]}],
        "code": {"coding": [{"system": CODE_SYSTEM, "code": code, "display": display}], "text": display},
        "subject": {"reference": subject},
        "basedOn": [{"reference": f"CarePlan/careplan-{row.plan_id}"}],
        "effectiveDateTime": row.day.isoformat(),
        "valueInteger": int(row.sessions),
    }


def peg_questionnaire() -> dict:
    """The PEG three-item scale as we ask it: the Questionnaire our responses point to."""
    return {
        "resourceType": "Questionnaire",
        "id": "peg",
        "meta": _meta(PEG_QUESTIONNAIRE_UPDATED),
        "url": PEG_QUESTIONNAIRE_URL,
        "name": "PEG",
        "title": "PEG: pain intensity and interference (past week)",
        "status": "active",
        "subjectType": ["Patient"],
        "item": [{"linkId": link, "text": text, "type": "integer", "required": True} for _col, link, text in PEG_ITEMS],
    }


def questionnaire_response(outcome: WeeklyOutcome | Row, subject: str) -> dict:
    """A week's PEG answers: ``authored`` when they were given (or last corrected), the week as a period."""
    answered = outcome.updated_at or outcome.created_at
    week_end: date = outcome.week_start + timedelta(days=6)
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"peg-{outcome.id}",
        "meta": _meta(answered),
        "extension": [
            {
                "url": f"{STRUCTURE}/covered-period",
                "valuePeriod": {"start": outcome.week_start.isoformat(), "end": week_end.isoformat()},
            }
        ],
        "identifier": {"system": PEG_WEEK_SYSTEM, "value": f"{outcome.patient_id}-{outcome.week_start.isoformat()}"},
        "questionnaire": PEG_QUESTIONNAIRE_URL,
        "status": "completed",
        "subject": {"reference": subject},
        "authored": _instant(answered),
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
        "meta": _meta(message.read_at or message.sent_at),
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
