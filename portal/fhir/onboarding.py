"""What the portal learns before coaching starts, as FHIR R4: consents, the intake and the patient's goals.

- Consent (one document agreed to) -> Consent: scope ``treatment`` for the coaching agreement and
  ``patient-privacy`` for the privacy notice, category LOINC 59284-0, the text's version as the
  policy (its URI names clinic, document and version), the language it was read in as the
  resource's ``language``; ``active`` for the clinic's newest version, ``inactive`` for an older one
- Intake -> QuestionnaireResponse answering INTAKE_QUESTIONNAIRE (published here, built from the one
  definition in portal.care.intake): choices as codings of our intake code system, "Other" as text,
  0-10 answers as integers, safety answers as booleans; ``in-progress`` until finished
- GoalRating (PSFS) -> one QuestionnaireResponse per rating answering PSFS_QUESTIONNAIRE (the activity
  in the patient's words, and its 0-10 rating)
- Goal (PSFS activity) -> Goal: the activity as its description, the rating as the target's measure
  with the clinically important change (first rating + 2, at most 10) as the target; ``cancelled`` once
  the patient retired it
The loaders read a batch of patients in a fixed number of statements (five), whatever its size.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import func

from portal.care.consent import AGREEMENT, KIND_TITLES
from portal.care.goals import CHANGE_POINTS
from portal.care.intake import MULTI, SCALE, SINGLE, STEPS, YES_NO
from portal.care.onboarding_models import Consent, ConsentText, Goal, GoalRating, Intake
from portal.extensions import db
from portal.i18n import force_locale

INTAKE_QUESTIONNAIRE_URL = "https://holistiq.example/fhir/Questionnaire/about-your-back"
PSFS_QUESTIONNAIRE_URL = "https://holistiq.example/fhir/Questionnaire/psfs"
INTAKE_CODE_SYSTEM = "https://holistiq.example/fhir/CodeSystem/intake"
GOAL_MEASURE_SYSTEM = "https://holistiq.example/fhir/CodeSystem/goal-measure"
CONSENT_POLICY = "https://holistiq.example/fhir/consent-text"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
# When the published Questionnaires last changed (with the code that defines them).
QUESTIONNAIRES_UPDATED = datetime(2026, 12, 6, tzinfo=UTC)
PSFS_MEASURE = {"system": GOAL_MEASURE_SYSTEM, "code": "psfs-rating", "display": "PSFS activity rating (0-10)"}
PSFS_ITEMS = (
    ("activity", "An activity that is hard because of your back (in your own words)"),
    ("rating", "How well can you do it today? 0 = unable to do, 10 = able to do as before the problem"),
)
RESOURCE_KINDS = ("Consent", "Goal", "Questionnaire", "QuestionnaireResponse")


def _instant(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _meta(updated: datetime) -> dict:
    return {"lastUpdated": _instant(updated)}


def consent(row: Consent, subject: str, newest: int | None) -> dict:
    with force_locale("en"):
        title = str(KIND_TITLES[row.kind])
    return {
        "resourceType": "Consent",
        "id": f"consent-{row.id}",
        "meta": _meta(row.given_at),
        "language": row.language,
        "status": "active" if row.version == newest else "inactive",
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "treatment" if row.kind == AGREEMENT else "patient-privacy"}]},
        "category": [{"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"reference": subject},
        "dateTime": _instant(row.given_at),
        "policy": [{"uri": f"{CONSENT_POLICY}/{row.clinic_id}/{row.kind}/{row.version}"}],
        "policyRule": {"text": f"{title}, version {row.version}"},
    }  # fmt: skip


def _question_item(question) -> dict:
    with force_locale("en"):
        item: dict = {"linkId": question.name, "text": str(question.label)}
        if question.kind in (SINGLE, MULTI):
            item["type"] = "choice"
            item["repeats"] = question.kind == MULTI
            item["answerOption"] = [
                {"valueCoding": {"system": INTAKE_CODE_SYSTEM, "code": code, "display": str(label)}}
                for code, label in question.choices
            ]
        elif question.kind == SCALE:
            item["type"] = "integer"
        else:
            item["type"] = "boolean"
    return item


def intake_questionnaire() -> dict:
    """ "About your back" as we ask it (English), built from portal.care.intake's one definition."""
    items = []
    for step in STEPS:
        with force_locale("en"):
            title = str(step.title)
        group: dict = {"linkId": f"step-{step.number}", "text": title, "type": "group"}
        questions = []
        for question in step.questions:
            questions.append(_question_item(question))
            if question.kind == MULTI and question.other:
                questions.append({"linkId": f"{question.name}_other", "text": "Other", "type": "string"})
        if questions:
            group["item"] = questions
        else:  # the last step: the PSFS, answered by its own Questionnaire per rating
            group["type"] = "display"
        items.append(group)
    return {
        "resourceType": "Questionnaire",
        "id": "about-your-back",
        "meta": _meta(QUESTIONNAIRES_UPDATED),
        "url": INTAKE_QUESTIONNAIRE_URL,
        "name": "AboutYourBack",
        "title": "About your back: the intake questionnaire",
        "status": "active",
        "subjectType": ["Patient"],
        "item": items,
    }


def psfs_questionnaire() -> dict:
    return {
        "resourceType": "Questionnaire",
        "id": "psfs",
        "meta": _meta(QUESTIONNAIRES_UPDATED),
        "url": PSFS_QUESTIONNAIRE_URL,
        "name": "PSFS",
        "title": "Patient-Specific Functional Scale: one activity and its rating",
        "status": "active",
        "subjectType": ["Patient"],
        "item": [
            {"linkId": PSFS_ITEMS[0][0], "text": PSFS_ITEMS[0][1], "type": "string", "required": True},
            {"linkId": PSFS_ITEMS[1][0], "text": PSFS_ITEMS[1][1], "type": "integer", "required": True},
        ],
    }


def _answers(question, answers: dict) -> list[dict]:
    value = answers.get(question.name)
    if value is None:
        return []
    if question.kind == SINGLE:
        return [
            {"valueCoding": {"system": INTAKE_CODE_SYSTEM, "code": str(value), "display": question.choice_label(value)}}
        ]
    if question.kind == MULTI:
        return [
            {"valueCoding": {"system": INTAKE_CODE_SYSTEM, "code": str(code), "display": question.choice_label(code)}}
            for code in value or []
        ]
    if question.kind == SCALE:
        return [{"valueInteger": int(value)}]
    if question.kind == YES_NO:
        return [{"valueBoolean": bool(value)}]
    return []


def intake_response(intake: Intake, subject: str) -> dict:
    answers = intake.answers or {}
    groups = []
    with force_locale("en"):
        for step in STEPS:
            items = []
            for question in step.questions:
                found = _answers(question, answers)
                if found:
                    items.append({"linkId": question.name, "text": str(question.label), "answer": found})
                other = answers.get(f"{question.name}_other")
                if question.kind == MULTI and other:
                    items.append(
                        {"linkId": f"{question.name}_other", "text": "Other", "answer": [{"valueString": other}]}
                    )
            if items:
                groups.append({"linkId": f"step-{step.number}", "text": str(step.title), "item": items})
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": f"intake-{intake.id}",
        "meta": _meta(intake.updated_at),
        "questionnaire": INTAKE_QUESTIONNAIRE_URL,
        "status": "completed" if intake.finished_at else "in-progress",
        "subject": {"reference": subject},
        "authored": _instant(intake.finished_at or intake.updated_at),
    }
    if groups:
        resource["item"] = groups
    return resource


def rating_response(rating: GoalRating, goal: Goal, subject: str) -> dict:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"psfs-{rating.id}",
        "meta": _meta(rating.created_at),
        "questionnaire": PSFS_QUESTIONNAIRE_URL,
        "status": "completed",
        "subject": {"reference": subject},
        "authored": _instant(rating.created_at),
        "item": [
            {"linkId": PSFS_ITEMS[0][0], "text": PSFS_ITEMS[0][1], "answer": [{"valueString": goal.activity}]},
            {"linkId": PSFS_ITEMS[1][0], "text": PSFS_ITEMS[1][1], "answer": [{"valueInteger": rating.score}]},
        ],
    }


def goal(row: Goal, ratings: list[GoalRating], subject: str) -> dict:
    resource: dict = {
        "resourceType": "Goal",
        "id": f"psfs-goal-{row.id}",
        "meta": _meta(row.retired_at or (ratings[-1].created_at if ratings else row.created_at)),
        "lifecycleStatus": "cancelled" if row.retired_at else "active",
        "category": [{"coding": [{"system": GOAL_MEASURE_SYSTEM, "code": "psfs", "display": "Patient-specific function"}]}],
        "description": {"text": row.activity},
        "subject": {"reference": subject},
    }  # fmt: skip
    if ratings:
        first = ratings[0]
        resource["startDate"] = first.day.isoformat()
        resource["target"] = [
            {"measure": {"coding": [PSFS_MEASURE]}, "detailInteger": min(10, first.score + CHANGE_POINTS)}
        ]
        resource["note"] = [{"text": f"First rating {first.score} of 10 on {first.day.isoformat()}; latest {ratings[-1].score} on {ratings[-1].day.isoformat()}."}]  # fmt: skip
    return resource


def _subject(patient_id: int) -> str:
    return f"Patient/patient-{patient_id}"


def newest_versions() -> dict[int, int]:
    """clinic id -> the newest version of its consent texts (a Consent of it is ``active``)."""
    return dict(
        db.session.execute(
            db.select(ConsentText.clinic_id, func.max(ConsentText.version)).group_by(ConsentText.clinic_id)
        ).all()
    )


def onboarding_resources(patient_ids: list[int], newest: dict[int, int] | None = None) -> Iterator[dict]:
    """Consents, intakes, goals and PSFS ratings of these patients (the Questionnaires not included):
    three statements per batch, and one for ``newest`` when the caller has not read it already."""
    if not patient_ids:
        return
    newest = newest_versions() if newest is None else newest
    for row in db.session.scalars(
        db.select(Consent).where(Consent.patient_id.in_(patient_ids)).order_by(Consent.patient_id, Consent.id)
    ):
        yield consent(row, _subject(row.patient_id), newest.get(row.clinic_id))
    for intake in db.session.scalars(db.select(Intake).where(Intake.patient_id.in_(patient_ids)).order_by(Intake.id)):
        yield intake_response(intake, _subject(intake.patient_id))
    rows = db.session.execute(
        db.select(Goal, GoalRating)
        .outerjoin(GoalRating, GoalRating.goal_id == Goal.id)
        .where(Goal.patient_id.in_(patient_ids))
        .order_by(Goal.id, GoalRating.day, GoalRating.id)
    ).all()
    goals: dict[int, tuple[Goal, list[GoalRating]]] = {}
    for row, rating in rows:
        entry = goals.setdefault(row.id, (row, []))
        if rating is not None:
            entry[1].append(rating)
    for row, ratings in goals.values():
        yield goal(row, ratings, _subject(row.patient_id))
        for rating in ratings:
            yield rating_response(rating, row, _subject(row.patient_id))
