"""Model objects as the API's JSON (what the schemas in schemas.py describe)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from portal.auth.models import User
from portal.care.models import Alert, CheckIn, Plan, PlanItem, WeeklyOutcome
from portal.care.progress import Progress
from portal.care.red_flags import TIER_RULES, Tier, answered_yes
from portal.care.today import TodayItem
from portal.exercises.translations import ItemText
from portal.messaging.models import Message


def plan_item(item: PlanItem, text: ItemText, done: bool | None = None) -> dict:
    row = {
        "id": item.id,
        "library_item_id": item.library_item_id,
        "kind": item.library_item.kind,
        "title": text.title,
        "summary": text.summary,
        "sets": item.sets,
        "reps": item.reps,
        "hold_seconds": item.hold_seconds,
        "times_per_day": item.times_per_day,
        "coach_note": item.coach_note or "",
        "paused_reason": item.open_pause.reason if item.open_pause is not None else None,
    }
    if done is not None:
        row["done"] = done
    return row


def paused(entry: TodayItem, red_flag_since: datetime | None) -> dict | None:
    """Why a day's item cannot be marked: the coach's pause of it, or a red flag holding the exercises."""
    if entry.coach_pause is not None:
        return {"by": "coach", "reason": entry.coach_pause.reason, "since": entry.coach_pause.started_at}
    if entry.paused:
        return {
            "by": "red_flag",
            "reason": _("This exercise is paused until your coach checks in with you."),
            "since": red_flag_since,
        }
    return None


def today_item(entry: TodayItem, text: ItemText, red_flag_since: datetime | None) -> dict:
    """One of the day's items with its sessions and pause (what Today's card shows)."""
    row = plan_item(entry.plan_item, text, entry.done)
    row.update(sessions_done=entry.sessions_done, sessions_due=entry.times, paused=paused(entry, red_flag_since))
    return row


def plan(plan_row: Plan, items: list[PlanItem], texts: dict[int, ItemText]) -> dict:
    return {
        "id": plan_row.id,
        "title": plan_row.title,
        "goals": plan_row.goals or "",
        "start_date": plan_row.start_date,
        "status": plan_row.status,
        "items": [plan_item(item, texts[item.library_item_id]) for item in items],
    }


def checkin(row: CheckIn) -> dict:
    return {
        "id": row.id,
        "day": row.day,
        "pain": row.pain,
        "stiffness": row.stiffness,
        "spasm_episodes": row.spasm_episodes,
        "sleep_quality": row.sleep_quality,
        "water_glasses": row.water_glasses,
        "notes": row.notes or "",
        "red_flags": [flag.field for flag in answered_yes(row)],
    }


def safety(alert: Alert | None, clinic_phone: str | None, exercises_paused: bool) -> dict | None:
    """Today's safety box while a red-flag alert is open: its tier's advice (the care core's words)."""
    if alert is None or not alert.tier:
        return None
    rule = TIER_RULES[Tier(alert.tier)]
    return {
        "alert_id": alert.id,
        "tier": rule.tier.value,
        "severity": rule.severity,
        "heading": str(rule.heading),
        "advice": str(rule.advice),
        "clinic_phone": clinic_phone,
        "exercises_paused": exercises_paused,
        "opened_at": alert.opened_at,
        "acknowledged_by": acknowledger(alert),
        "acknowledged_at": alert.acknowledged_at,
    }


def safety_advice(tier: Tier, clinic_phone: str | None) -> dict:
    """The advice the check-in page shows after a red-flag answer: its highest tier's, in the same words."""
    rule = TIER_RULES[tier]
    call = (
        _("Call your clinic now.") if not clinic_phone else _("Call your clinic now at %(phone)s.", phone=clinic_phone)
    )
    text = [str(rule.advice)]
    if rule.pauses_exercises:
        text.append(call)
        text.append(_("Until you have been seen, stop the exercises in your plan."))
    return {"tier": rule.tier.value, "title": str(rule.heading), "text": text, "clinic_phone": clinic_phone}


def peg(row: WeeklyOutcome) -> dict:
    return {
        "week_start": row.week_start,
        "pain_average": row.pain_average,
        "enjoyment_interference": row.enjoyment_interference,
        "activity_interference": row.activity_interference,
        "score": round((row.pain_average + row.enjoyment_interference + row.activity_interference) / 3, 1),
    }


def progress(result: Progress) -> dict:
    return {
        "start": result.start,
        "end": result.end,
        "series": [
            {"day": day, "pain": pain, "stiffness": stiffness, "spasm_episodes": spasms}
            for day, pain, stiffness, spasms in result.series
        ],
        "adherence": result.weekly_adherence,
        "peg": [{"week_start": week, "score": round((p + e + a) / 3, 1)} for week, p, e, a in result.peg],
    }


def message(row: Message, reader: User) -> dict:
    return {
        "id": row.id,
        "sender_id": row.sender_id,
        "mine": row.sender_id == reader.id,
        "body": row.body,
        "sent_at": row.sent_at,
        "read_at": row.read_at,
    }


def acknowledger(row: Alert) -> str | None:
    """The name of who acknowledged the alert, if anyone did (read through its relationship)."""
    return row.acknowledged_by.name if row.acknowledged_by is not None else None


def alert(row: Alert, patient_name: str, acknowledged_by: str | None) -> dict:
    """The alert, with its patient's and its acknowledger's names as the caller read them."""
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "patient_name": patient_name,
        "kind": row.kind,
        "severity": row.severity,
        "summary": row.summary,
        "opened_at": row.opened_at,
        "resolved_at": row.resolved_at,
        "note": row.note or "",
        "tier": row.tier,
        "acknowledged_at": row.acknowledged_at,
        "acknowledged_by": acknowledged_by,
    }
