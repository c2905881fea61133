"""A patient's own data (profile, intake, goals, consents, plans, check-ins, item logs, weekly checks) as JSON or CSV.

Each table is read in one query, so an export costs the same few queries for a
week of data or for years of it. CSV comes as a ZIP with one file per table
(spreadsheets open each directly); cells that a spreadsheet would run as a
formula are neutralised by the portal's one CSV rule (portal.csvutil).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from typing import Any

from portal.auth.models import Clinic, User
from portal.care.models import CheckIn, ItemLog, Plan, PlanItem, PlanItemPause, WeeklyOutcome
from portal.care.onboarding_models import Consent, Goal, GoalRating, Intake
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.csvutil import csv_text
from portal.exercises.models import LibraryItem
from portal.extensions import db

CHECKIN_COLUMNS = (
    "day",
    "pain",
    "stiffness",
    "spasm_episodes",
    "sleep_quality",
    "water_glasses",
    "notes",
    *RED_FLAG_FIELDS,
    "created_at",
    "updated_at",
)
PLAN_COLUMNS = ("plan_id", "title", "goals", "status", "start_date", "end_date", "coach")
PLAN_ITEM_COLUMNS = (
    "plan_id",
    "plan_item_id",
    "item",
    "kind",
    "sets",
    "reps",
    "hold_seconds",
    "times_per_day",
    "weekdays",
    "coach_note",
    "is_active",
)
PAUSE_COLUMNS = ("plan_item_id", "item", "paused_from", "paused_until", "reason")
ITEM_LOG_COLUMNS = ("day", "plan_item_id", "item", "done", "pain_during", "note")
INTAKE_COLUMNS = ("question", "answer")
GOAL_COLUMNS = ("goal_id", "activity", "created_at", "retired_at")
GOAL_RATING_COLUMNS = ("goal_id", "activity", "day", "rating")
CONSENT_COLUMNS = ("document", "version", "language", "given_at", "ip", "clinic")
OUTCOME_COLUMNS = ("week_start", "pain_average", "enjoyment_interference", "activity_interference", "peg_score")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return value


def collect(patient: User) -> dict[str, Any]:
    """Everything we hold about the patient's care, as plain values."""
    coach_name = patient.coach.name if patient.coach else None
    profile = {
        "name": patient.name,
        "email": patient.email,
        "phone": patient.phone,
        "clinic": patient.clinic.name if patient.clinic else None,
        "coach": coach_name,
        "time_zone": patient.tz,
        "account_created_at": _plain(patient.created_at),
        "email_notifications": patient.email_notifications,
        "email_reminders": patient.email_reminders,
        "quiet_hours": f"{patient.quiet_start:%H:%M}-{patient.quiet_end:%H:%M}",
    }
    plans = db.session.execute(
        db.select(Plan, User.name).outerjoin(User, User.id == Plan.coach_id).where(Plan.patient_id == patient.id)
        .order_by(Plan.start_date, Plan.id)
    ).all()  # fmt: skip
    items = db.session.execute(
        db.select(PlanItem, LibraryItem.title, LibraryItem.kind)
        .join(Plan, Plan.id == PlanItem.plan_id)
        .join(LibraryItem, LibraryItem.id == PlanItem.library_item_id)
        .where(Plan.patient_id == patient.id)
        .order_by(PlanItem.plan_id, PlanItem.position, PlanItem.id)
    ).all()
    pauses = db.session.execute(
        db.select(PlanItemPause, LibraryItem.title)
        .join(PlanItem, PlanItem.id == PlanItemPause.plan_item_id)
        .join(Plan, Plan.id == PlanItem.plan_id)
        .join(LibraryItem, LibraryItem.id == PlanItem.library_item_id)
        .where(Plan.patient_id == patient.id)
        .order_by(PlanItemPause.started_on, PlanItemPause.id)
    ).all()
    checkins = db.session.scalars(
        db.select(CheckIn).where(CheckIn.patient_id == patient.id).order_by(CheckIn.day)
    ).all()
    logs = db.session.execute(
        db.select(ItemLog, LibraryItem.title)
        .join(PlanItem, PlanItem.id == ItemLog.plan_item_id)
        .join(LibraryItem, LibraryItem.id == PlanItem.library_item_id)
        .where(ItemLog.patient_id == patient.id)
        .order_by(ItemLog.day, ItemLog.plan_item_id)
    ).all()
    outcomes = db.session.scalars(
        db.select(WeeklyOutcome).where(WeeklyOutcome.patient_id == patient.id).order_by(WeeklyOutcome.week_start)
    ).all()
    consents = db.session.execute(
        db.select(Consent, Clinic.name).join(Clinic, Clinic.id == Consent.clinic_id)
        .where(Consent.patient_id == patient.id).order_by(Consent.given_at, Consent.id)
    ).all()  # fmt: skip
    intake = db.session.scalar(db.select(Intake).where(Intake.patient_id == patient.id))
    goal_rows = db.session.execute(
        db.select(Goal, GoalRating).outerjoin(GoalRating, GoalRating.goal_id == Goal.id)
        .where(Goal.patient_id == patient.id).order_by(Goal.id, GoalRating.day)
    ).all()  # fmt: skip
    goals: dict[int, Goal] = {goal.id: goal for goal, _rating in goal_rows}
    return {
        "profile": profile,
        # "About your back": each answer as stored (choice codes, lists, 0-10 numbers, safety yes/no).
        "intake": {
            "answers": dict(intake.answers or {}),
            "steps_done": intake.steps_done,
            "started_at": _plain(intake.started_at),
            "finished_at": _plain(intake.finished_at),
        }
        if intake is not None
        else None,
        "goals": [
            {
                "goal_id": goal.id,
                "activity": goal.activity,
                "created_at": _plain(goal.created_at),
                "retired_at": _plain(goal.retired_at),
            }
            for goal in goals.values()
        ],
        "goal_ratings": [
            {"goal_id": goal.id, "activity": goal.activity, "day": _plain(rating.day), "rating": rating.score}
            for goal, rating in goal_rows
            if rating is not None
        ],
        # What the patient agreed to before starting: each document's version, when, from where, in which language.
        "consents": [
            {
                "document": consent.kind,
                "version": consent.version,
                "language": consent.language,
                "given_at": _plain(consent.given_at),
                "ip": consent.ip,
                "clinic": clinic_name,
            }
            for consent, clinic_name in consents
        ],
        "plans": [
            {
                "plan_id": plan.id,
                "title": plan.title,
                "goals": plan.goals,
                "status": plan.status,
                "start_date": _plain(plan.start_date),
                "end_date": _plain(plan.end_date),
                "coach": name,
            }
            for plan, name in plans
        ],
        "plan_items": [
            {
                "plan_id": item.plan_id,
                "plan_item_id": item.id,
                "item": title,
                "kind": str(kind),
                "sets": item.sets,
                "reps": item.reps,
                "hold_seconds": item.hold_seconds,
                "times_per_day": item.times_per_day,
                "weekdays": item.weekdays,
                "coach_note": item.coach_note,
                "is_active": item.is_active,
            }
            for item, title, kind in items
        ],
        # When the coach paused an item and why: "paused_until" is the day it was due again (empty while paused).
        "plan_item_pauses": [
            {
                "plan_item_id": pause.plan_item_id,
                "item": title,
                "paused_from": _plain(pause.started_on),
                "paused_until": _plain(pause.ended_on),
                "reason": pause.reason,
            }
            for pause, title in pauses
        ],
        "checkins": [{name: _plain(getattr(c, name)) for name in CHECKIN_COLUMNS} for c in checkins],
        "item_logs": [
            {
                "day": _plain(log.day),
                "plan_item_id": log.plan_item_id,
                "item": title,
                "done": log.done,
                "sessions_done": log.sessions_done,
                "pain_during": log.pain_during,
                "note": log.note,
            }
            for log, title in logs
        ],
        "weekly_checks": [
            {
                "week_start": _plain(o.week_start),
                "pain_average": o.pain_average,
                "enjoyment_interference": o.enjoyment_interference,
                "activity_interference": o.activity_interference,
                "peg_score": o.score,
            }
            for o in outcomes
        ],
    }


def to_json(data: dict[str, Any]) -> str:
    return json.dumps({"format": "holistiq-coach-export/1", **data}, indent=2, ensure_ascii=False)


def _csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    return csv_text(columns, ([row.get(name) for name in columns] for row in rows))


def _intake_rows(intake: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The intake's answers one per row (a list of choices joined with "; ")."""
    if intake is None:
        return []
    return [
        {"question": name, "answer": "; ".join(map(str, value)) if isinstance(value, list) else value}
        for name, value in intake["answers"].items()
    ]


def to_csv_zip(data: dict[str, Any]) -> bytes:
    """One CSV per table, zipped."""
    profile = data["profile"]
    files = {
        "profile.csv": _csv(tuple(profile), [profile]),
        "consents.csv": _csv(CONSENT_COLUMNS, data["consents"]),
        "intake.csv": _csv(INTAKE_COLUMNS, _intake_rows(data["intake"])),
        "goals.csv": _csv(GOAL_COLUMNS, data["goals"]),
        "goal_ratings.csv": _csv(GOAL_RATING_COLUMNS, data["goal_ratings"]),
        "plans.csv": _csv(PLAN_COLUMNS, data["plans"]),
        "plan_items.csv": _csv(PLAN_ITEM_COLUMNS, data["plan_items"]),
        "plan_item_pauses.csv": _csv(PAUSE_COLUMNS, data["plan_item_pauses"]),
        "checkins.csv": _csv(CHECKIN_COLUMNS, data["checkins"]),
        "item_logs.csv": _csv(ITEM_LOG_COLUMNS, data["item_logs"]),
        "weekly_checks.csv": _csv(OUTCOME_COLUMNS, data["weekly_checks"]),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            # A BOM so spreadsheet apps read the UTF-8 (accents in names and notes) correctly.
            archive.writestr(name, "\ufeff" + text)
    return buffer.getvalue()
