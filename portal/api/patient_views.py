"""The patient's API: profile, today, check-ins, PEG, progress, plan and messages.

Every route calls the services the patient's pages call, so the rules (what is due,
the one check-in per local day, red flags and their alerts) are the same.
"""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _

from portal import audit
from portal.api import present
from portal.api.blueprint import bp, page_of, problem, token_required
from portal.api.idempotency import HEADER_DOC as IDEMPOTENCY_HEADER
from portal.api.idempotency import idempotent
from portal.api.problems import problems
from portal.api.schemas import (
    CheckInInputSchema,
    CheckInPageSchema,
    CheckInPatchSchema,
    CheckInSavedSchema,
    ItemDetailSchema,
    MarkedReadSchema,
    MarkItemSchema,
    MessageInputSchema,
    MessagePageSchema,
    MessageSchema,
    PageArgsSchema,
    PegInputSchema,
    PegSchema,
    PlanSchema,
    ProfileSchema,
    ProfileUpdateSchema,
    ProgressArgsSchema,
    ProgressSchema,
    ThisWeekPegSchema,
    TodayItemSchema,
    TodaysCheckInSchema,
    TodaySchema,
)
from portal.auth.models import Role
from portal.care import today as today_service
from portal.care.checkins import (
    CheckInClosed,
    checkin_for,
    checkin_history_query,
    outcome_for_week,
    patient_today,
    save_checkin,
    save_weekly_outcome,
    week_start_for,
)
from portal.care.plans import active_items, active_plan
from portal.care.progress import progress_for
from portal.errors import NotFound
from portal.exercises.translations import item_text, item_texts
from portal.extensions import db
from portal.i18n import current_language
from portal.messaging import services as messaging
from portal.messaging.models import Message

patient_only = token_required(Role.PATIENT)


def _me():
    return g.api_user


@bp.route("/me", methods=["GET"])
@token_required()
@bp.response(200, ProfileSchema)
def get_profile():
    """Who is signed in, their language and their local day."""
    return _profile(_me())


def _profile(user) -> dict:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "language": user.language or "en",
        "timezone": user.tz,
        "today": patient_today(user),
    }


@bp.route("/me", methods=["PATCH"])
@token_required()
@bp.arguments(ProfileUpdateSchema)
@bp.response(200, ProfileSchema)
def update_profile(values: dict):
    """Choose the language of the app's texts and the portal's emails."""
    user = _me()
    user.language = values["language"]
    audit.record("account.language", user, actor=user, language=values["language"])
    db.session.commit()
    return _profile(user)


def _today_json(patient) -> dict:
    plan_today = today_service.todays_plan(patient)
    texts = item_texts([entry.library_item for entry in plan_today.items], current_language())
    since = today_service.red_flag_pause_started(patient.id) if plan_today.exercises_paused else None
    alert = today_service.open_red_flag(patient.id) if plan_today.red_flag_open else None
    return {
        "day": plan_today.day,
        "total": plan_today.total,
        "done_count": plan_today.done_count,
        "sessions_total": plan_today.sessions_total,
        "sessions_done": plan_today.sessions_done,
        "items": [present.today_item(entry, texts[entry.library_item.id], since) for entry in plan_today.items],
        "safety": present.safety(alert, patient.clinic_phone, plan_today.exercises_paused),
    }


@bp.route("/me/today", methods=["GET"])
@patient_only
@bp.response(200, TodaySchema)
def get_today():
    """Today's items (the patient's local day): sessions done and due, why an item is paused, and while a
    red-flag alert is open the safety advice to show at once (its tier's, with the clinic's phone)."""
    return _today_json(_me())


@bp.route("/me/today/items/<int:plan_item_id>", methods=["PUT"])
@patient_only
@bp.arguments(MarkItemSchema)
@bp.response(200, TodayItemSchema)
@problems("item_paused", "item_not_due", "sessions_over_due")
def mark_item(values: dict, plan_item_id: int):
    """Set how many of today's sessions of an item are done: `{"sessions_done": n}`.

    The count is absolute, so a retried request leaves the same state. A paused item
    cannot gain sessions (409 `item_paused`); taking sessions back is always allowed.
    The deprecated `{"done": true}` sets every session due today, `{"done": false}` none.
    """
    patient = _me()
    item = today_service.plan_item_for_patient(patient, plan_item_id)
    if item is None:
        raise NotFound()
    sessions = values.get("sessions_done")
    if sessions is None:
        sessions = max(item.times_per_day, 1) if values["done"] else 0
    try:
        today_service.set_sessions(patient, item, sessions)
    except today_service.ItemPaused as error:
        db.session.rollback()
        return problem(409, str(error), code="item_paused")
    except today_service.NotDueToday as error:
        db.session.rollback()
        return problem(409, str(error), code="item_not_due")
    except today_service.SessionsOverDue as error:
        db.session.rollback()
        return problem(
            422,
            _("Some fields were not right."),
            code="sessions_over_due",
            errors=[{"field": "sessions_done", "location": "json", "message": str(error)}],
        )
    db.session.commit()
    plan_today = today_service.todays_plan(patient)
    entry = next(entry for entry in plan_today.items if entry.plan_item.id == item.id)
    since = today_service.red_flag_pause_started(patient.id) if entry.paused else None
    return present.today_item(entry, item_text(item.library_item, current_language()), since)


@bp.route("/me/checkins", methods=["GET"])
@patient_only
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, CheckInPageSchema)
@bp.doc(operationId="listCheckIns")
def list_checkins(args: dict):
    """The patient's check-ins, newest first."""
    rows, next_cursor = page_of(checkin_history_query(_me().id), args.get("cursor"), args["limit"])
    return {"items": [present.checkin(row[0]) for row in rows], "next_cursor": next_cursor}


@bp.route("/me/checkins/today", methods=["GET"])
@patient_only
@bp.response(200, TodaysCheckInSchema)
@bp.doc(operationId="getTodaysCheckIn")
def get_todays_checkin():
    """Today's check-in (null until the patient has checked in today)."""
    patient = _me()
    day = patient_today(patient)
    row = checkin_for(patient.id, day)
    return {"day": day, "checkin": present.checkin(row) if row is not None else None}


@bp.route("/me/checkins/today", methods=["PUT"])
@patient_only
@bp.arguments(CheckInInputSchema)
@bp.response(200, CheckInSavedSchema)
@problems("checkin_closed")
@bp.doc(operationId="saveTodaysCheckIn")
def save_todays_checkin(values: dict):
    """Create or replace today's check-in. A red-flag "yes" returns the safety advice and alerts the coach.

    A full replacement: a field not sent takes its default (no spasms, no notes, every red-flag
    question "no"), as on the check-in form. To change some fields only, use PATCH.
    """
    return _save_todays_checkin(_me(), values)


@bp.route("/me/checkins/today", methods=["PATCH"])
@patient_only
@bp.arguments(CheckInPatchSchema)
@bp.response(200, CheckInSavedSchema)
@problems("checkin_closed", "checkin_missing")
@bp.doc(operationId="updateTodaysCheckIn")
def update_todays_checkin(values: dict):
    """Change some fields of today's check-in: a field not sent stays as it is.

    Today's check-in must exist (PUT creates it): 404 `checkin_missing` otherwise.
    """
    patient = _me()
    if checkin_for(patient.id, patient_today(patient)) is None:
        return problem(
            404,
            _("There is no check-in today yet: send the whole check-in with PUT first."),
            code="checkin_missing",
        )
    return _save_todays_checkin(patient, values)


def _save_todays_checkin(patient, values: dict):
    """Save the fields in ``values`` on today's check-in (creating it), with the page's rules and alerts."""
    day = patient_today(patient)
    items_done = values.pop("items_done", None)
    plan_today = today_service.todays_plan(patient, day)
    if items_done is not None:
        due = {entry.plan_item.id for entry in plan_today.items}
        unknown = sorted(set(items_done) - due)
        if unknown:
            return problem(
                422,
                _("Some fields were not right."),
                code="validation_failed",
                errors=[{"field": "items_done", "location": "json", "message": _("Not one of today's plan items.")}],
            )
    try:
        result = save_checkin(patient, day, values, set(items_done) if items_done is not None else None, plan_today)
    except CheckInClosed as error:
        db.session.rollback()
        return problem(409, str(error), code="checkin_closed")
    db.session.commit()
    tier = result.checkin.red_flag_tier
    advice = present.safety_advice(tier, patient.clinic_phone) if tier is not None else None
    return {"checkin": present.checkin(result.checkin), "created": result.created, "safety_advice": advice}


@bp.route("/me/peg", methods=["GET"])
@patient_only
@bp.response(200, ThisWeekPegSchema)
def get_peg():
    """This week's PEG check (null until answered this week)."""
    patient = _me()
    week = week_start_for(patient_today(patient))
    row = outcome_for_week(patient.id, week)
    return {"week_start": week, "peg": present.peg(row) if row is not None else None}


@bp.route("/me/peg", methods=["PUT"])
@patient_only
@bp.arguments(PegInputSchema)
@bp.response(200, PegSchema)
def save_peg(values: dict):
    """Answer (or correct) this week's PEG check."""
    row, _created = save_weekly_outcome(_me(), values)
    db.session.commit()
    return present.peg(row)


@bp.route("/me/progress", methods=["GET"])
@patient_only
@bp.arguments(ProgressArgsSchema, location="query")
@bp.response(200, ProgressSchema)
def get_progress(args: dict):
    """Pain, stiffness and spasms by day, adherence by week and PEG scores, for the last 7, 30 or 90 days."""
    patient = _me()
    return present.progress(progress_for(patient.id, patient_today(patient), args["days"]))


@bp.route("/me/plan", methods=["GET"])
@patient_only
@bp.response(200, PlanSchema)
@problems("not_found")
def get_plan():
    """The current plan and its items; 404 when no plan is active."""
    plan = active_plan(_me().id)
    if plan is None:
        raise NotFound()
    items = active_items(plan)
    texts = item_texts([item.library_item for item in items], current_language())
    return present.plan(plan, items, texts)


@bp.route("/me/plan/items/<int:plan_item_id>", methods=["GET"])
@patient_only
@bp.response(200, ItemDetailSchema)
def get_plan_item(plan_item_id: int):
    """An item's instructions, cautions and media, in the patient's language."""
    item = today_service.plan_item_for_patient(_me(), plan_item_id)
    if item is None:
        raise NotFound()
    text = item_text(item.library_item, current_language())
    return {
        "id": item.id,
        "kind": item.library_item.kind,
        "title": text.title,
        "summary": text.summary,
        "steps": text.steps,
        "cautions": text.cautions,
        "media_url": item.library_item.media_url,
        "language": text.language,
    }


@bp.route("/me/messages", methods=["GET"])
@patient_only
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, MessagePageSchema)
def list_my_messages(args: dict):
    """The thread with the coach, newest first."""
    patient = _me()
    query = (
        db.select(Message).where(Message.patient_id == patient.id).order_by(Message.sent_at.desc(), Message.id.desc())
    )
    rows, next_cursor = page_of(query, args.get("cursor"), args["limit"])
    audit.record("messages.view", patient, patient=patient)
    db.session.commit()
    return {"items": [present.message(row[0], patient) for row in rows], "next_cursor": next_cursor}


@bp.route("/me/messages", methods=["POST"])
@patient_only
@idempotent
@bp.doc(parameters=[IDEMPOTENCY_HEADER])
@bp.arguments(MessageInputSchema)
@bp.response(201, MessageSchema)
@problems("message_refused")
def send_my_message(values: dict):
    """Write to the coach. Send an `Idempotency-Key` header so a retried request sends the message once."""
    patient = _me()
    return send_in_thread(patient, patient, values["body"])


@bp.route("/me/messages/read", methods=["POST"])
@patient_only
@bp.response(200, MarkedReadSchema)
def mark_my_messages_read():
    """Mark the coach's messages read."""
    patient = _me()
    marked = messaging.mark_read(patient, patient)
    db.session.commit()
    return {"marked": marked}


def send_in_thread(sender, patient, body: str):
    """Send a message in the patient's thread (both roles), with the page's rules and notification."""
    body = body.strip()
    if not body:
        return problem(
            422,
            _("Some fields were not right."),
            code="validation_failed",
            errors=[{"field": "body", "location": "json", "message": _("Write a message first.")}],
        )
    try:
        message, email = messaging.send_message(sender, patient, body)
    except messaging.MessagingError as error:
        db.session.rollback()
        return problem(409, str(error), code="message_refused")
    db.session.commit()
    messaging.deliver_after_commit(email)
    return present.message(message, sender), 201
