"""The coach's API: roster with triage reasons, a patient's summary, check-ins and progress, alerts, messages.

A patient who is not on the coach's roster, or an alert of such a patient, is a 404,
exactly as on the coach's pages.
"""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, lazyload

from portal import audit
from portal.api import present
from portal.api.blueprint import bp, page_of, page_of_kept, problem, token_required
from portal.api.idempotency import HEADER_DOC as IDEMPOTENCY_HEADER
from portal.api.idempotency import idempotent
from portal.api.patient_views import send_in_thread
from portal.api.problems import problems
from portal.api.schemas import (
    AlertPageSchema,
    AlertSchema,
    CheckInPageSchema,
    ExercisesResumedSchema,
    MessageInputSchema,
    MessagePageSchema,
    MessageSchema,
    PageArgsSchema,
    PatientSummarySchema,
    PauseItemSchema,
    PlanItemSchema,
    ProgressArgsSchema,
    ProgressSchema,
    ResolveSchema,
    RosterPageSchema,
)
from portal.auth.access import can_view_patient
from portal.auth.models import Role, User
from portal.care import pauses as pause_service
from portal.care.alerts import (
    AlertError,
    acknowledge_alert,
    alert_history_query,
    can_acknowledge,
    open_alerts_statement,
    resolve_alert,
    resume_exercises,
)
from portal.care.attention import attention_params
from portal.care.checkins import checkin_history_query, patient_today
from portal.care.models import ALERT_LABELS, Alert
from portal.care.plans import active_items, active_plan, active_plan_item
from portal.care.progress import progress_for
from portal.coaching import review as review_service
from portal.errors import BadInput, NotFound
from portal.exercises.translations import item_text, item_texts
from portal.extensions import db
from portal.i18n import current_language
from portal.messaging import services as messaging
from portal.messaging.models import Message
from portal.sqlutil import KeptStatement
from portal.timeutil import local_today, utcnow

coach_only = token_required(Role.COACH)


def _coach() -> User:
    return g.api_user


def _my_patient(patient_id: int) -> User:
    """The patient if on this coach's roster; anyone else (or no one) is NotFound."""
    patient = db.session.get(User, patient_id)
    if patient is None or not can_view_patient(_coach(), patient):
        raise NotFound()
    return patient


def _roster_rows(patients: list[User], today, now=None, placed=None) -> list[dict]:
    """Roster rows with the review figures of the coach's pages and why each patient needs attention (``placed``:
    where the ranking placed each, as the page's statement read it)."""
    ids = [p.id for p in patients]
    review = review_service.review_for(ids, today, now, placed)
    unread = messaging.unread_by_patient(ids)
    # The ranking's reason first (the tier that placed the patient), then each open alert.
    reasons: dict[int, list[str]] = {pid: [text] if (text := review[pid].reason_text) else [] for pid in ids}
    if ids:
        open_rows = db.session.scalars(
            db.select(Alert)
            .where(Alert.patient_id.in_(ids), Alert.resolved_at.is_(None))
            .order_by(Alert.severity, Alert.opened_at)
        )
        for alert in open_rows:
            reasons[alert.patient_id].append(
                f"{ALERT_LABELS[alert.kind]}: {alert.summary}" if alert.summary else str(ALERT_LABELS[alert.kind])
            )
    rows = []
    for patient in patients:
        figures = review[patient.id]
        rows.append(
            {
                "id": patient.id,
                "name": patient.name,
                "last_checkin": figures.last_checkin,
                "latest_pain": figures.latest_pain,
                "trend": figures.trend,
                "adherence_percent": figures.adherence_percent,
                "open_alerts": figures.open_alerts,
                "urgent": figures.has_urgent_alert,
                "unread_messages": unread.get(patient.id, 0),
                "reasons": reasons[patient.id],
            }
        )
    return rows


@bp.route("/coach/patients", methods=["GET"])
@coach_only
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, RosterPageSchema)
@bp.doc(operationId="listPatients")
def roster(args: dict):
    """The coach's patients, those needing attention first, with the reasons."""
    coach = _coach()
    today, now = local_today(coach.tz), utcnow()
    values = {"coach_id": coach.id, **attention_params(today, now)}
    rows, next_cursor = page_of_kept(review_service.roster_page("attention"), values, args.get("cursor"), args["limit"])
    patients = [row[0] for row in rows]
    return {"items": _roster_rows(patients, today, now, review_service.placed(rows)), "next_cursor": next_cursor}


@bp.route("/coach/patients/<int:patient_id>", methods=["GET"])
@coach_only
@bp.response(200, PatientSummarySchema)
@bp.doc(operationId="getPatient")
def patient_summary(patient_id: int):
    """A patient's summary: review figures, current plan and open alerts."""
    patient = _my_patient(patient_id)
    today = patient_today(patient)
    plan = active_plan(patient.id)
    plan_json = None
    if plan is not None:
        items = active_items(plan)
        plan_json = present.plan(plan, items, item_texts([i.library_item for i in items], current_language()))
    alerts = db.session.scalars(alert_history_query(patient.id).where(Alert.resolved_at.is_(None))).all()
    audit.record("patient.view", patient, patient=patient.id, via="api")
    db.session.commit()
    return {
        "id": patient.id,
        "name": patient.name,
        "language": patient.language or "en",
        "today": today,
        "review": _roster_rows([patient], local_today(_coach().tz))[0],
        "plan": plan_json,
        "open_alerts": [present.alert(a, patient.name, present.acknowledger(a)) for a in alerts],
    }


@bp.route("/coach/patients/<int:patient_id>/checkins", methods=["GET"])
@coach_only
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, CheckInPageSchema)
@bp.doc(operationId="listPatientCheckIns")
def patient_checkins(args: dict, patient_id: int):
    """A patient's check-ins, newest first."""
    patient = _my_patient(patient_id)
    rows, next_cursor = page_of(checkin_history_query(patient.id), args.get("cursor"), args["limit"])
    audit.record("patient.view", patient, patient=patient, section="check-in history", via="api")
    db.session.commit()
    return {"items": [present.checkin(row[0]) for row in rows], "next_cursor": next_cursor}


@bp.route("/coach/patients/<int:patient_id>/progress", methods=["GET"])
@coach_only
@bp.arguments(ProgressArgsSchema, location="query")
@bp.response(200, ProgressSchema)
@bp.doc(operationId="getPatientProgress")
def patient_progress(args: dict, patient_id: int):
    """A patient's progress series for the last 7, 30 or 90 days."""
    patient = _my_patient(patient_id)
    result = present.progress(progress_for(patient.id, patient_today(patient), args["days"]))
    audit.record("patient.view", patient, patient=patient, section="chart data", days=args["days"], via="api")
    db.session.commit()
    return result


@bp.route("/coach/alerts", methods=["GET"])
@coach_only
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, AlertPageSchema)
def list_alerts(args: dict):
    """Open alerts of the coach's patients, most urgent first."""
    rows, next_cursor = page_of_kept(_alert_page(), {"coach_id": _coach().id}, args.get("cursor"), args["limit"])
    return {
        "items": [present.alert(alert, name, acknowledged_by) for alert, name, acknowledged_by in rows],
        "next_cursor": next_cursor,
    }


def _build_alert_page():
    """A page (``limit`` and ``offset`` bound) of the coach's open alerts (``open_alerts_statement``), with the
    patient's and the acknowledger's names read in the same SELECT: the acknowledger as a name, not the joined
    account (and its clinic) the relationship would load for each acknowledged alert."""
    query = open_alerts_statement(bindparam("coach_id"))
    alert = query.column_descriptions[0]["expr"]  # the alias the open alerts are read through
    acknowledger = aliased(User)
    return (
        query.outerjoin(acknowledger, acknowledger.id == alert.acknowledged_by_id)
        .add_columns(User.name, acknowledger.name)
        .options(lazyload(alert.acknowledged_by))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


# Every visit runs it: building the union of the visible alerts and its cache key cost more than running it.
_alert_page = KeptStatement(_build_alert_page)


@bp.route("/coach/alerts/<int:alert_id>/resolve", methods=["POST"])
@coach_only
@bp.arguments(ResolveSchema)
@bp.response(200, AlertSchema)
@problems("alert_closed")
@bp.doc(operationId="resolveAlert")
def resolve(values: dict, alert_id: int):
    """Resolve an open alert with a note on what was done.

    With `resume_exercises: true` the exercises a red flag paused are available again at once (as the
    page's choice); without it they stay paused until `POST /coach/patients/{id}/exercises/resume`.
    """
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound()
    patient = _my_patient(alert.patient_id)
    try:
        resolve_alert(alert, _coach(), values["note"].strip(), resume=values["resume_exercises"])
    except AlertError as error:
        db.session.rollback()
        return problem(409, str(error), code="alert_closed")
    db.session.commit()
    return present.alert(alert, patient.name, present.acknowledger(alert))


@bp.route("/coach/patients/<int:patient_id>/messages", methods=["GET"])
@coach_only
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, MessagePageSchema)
@bp.doc(operationId="listPatientMessages")
def patient_messages(args: dict, patient_id: int):
    """The thread with a patient, newest first; reading it marks the patient's messages read."""
    patient = _my_patient(patient_id)
    query = (
        db.select(Message).where(Message.patient_id == patient.id).order_by(Message.sent_at.desc(), Message.id.desc())
    )
    rows, next_cursor = page_of(query, args.get("cursor"), args["limit"])
    messaging.mark_read(patient, _coach())
    audit.record("messages.view", patient, patient=patient)
    db.session.commit()
    return {"items": [present.message(row[0], _coach()) for row in rows], "next_cursor": next_cursor}


@bp.route("/coach/patients/<int:patient_id>/messages", methods=["POST"])
@coach_only
@idempotent
@bp.doc(parameters=[IDEMPOTENCY_HEADER])
@bp.arguments(MessageInputSchema)
@bp.response(201, MessageSchema)
@problems("message_refused")
def send_patient_message(values: dict, patient_id: int):
    """Write to a patient. Send an `Idempotency-Key` header so a retried request sends the message once."""
    patient = _my_patient(patient_id)
    return send_in_thread(_coach(), patient, values["body"])


def _plan_item(patient: User, item_id: int):
    """The patient's active plan and one of its active items; anything else is NotFound."""
    plan = active_plan(patient.id)
    if plan is None:
        raise NotFound()
    return plan, active_plan_item(plan, item_id)


@bp.route("/coach/patients/<int:patient_id>/plan/items/<int:item_id>/pause", methods=["POST"])
@coach_only
@bp.arguments(PauseItemSchema)
@bp.response(200, PlanItemSchema)
@problems("item_paused")
@bp.doc(operationId="pausePlanItem")
def pause_plan_item(values: dict, patient_id: int, item_id: int):
    """Pause one item of the patient's plan with a reason the patient sees (as the plan editor's Pause)."""
    patient = _my_patient(patient_id)
    plan, item = _plan_item(patient, item_id)
    try:
        pause_service.pause_item(plan, item, values["reason"], _coach())
        db.session.commit()
    except BadInput as error:
        db.session.rollback()
        return problem(
            422,
            _("Some fields were not right."),
            code="validation_failed",
            errors=[{"field": "reason", "location": "json", "message": str(error)}],
        )
    except (pause_service.PauseError, IntegrityError):
        db.session.rollback()
        return problem(409, _("This item is already paused."), code="item_paused")
    return present.plan_item(item, item_text(item.library_item, current_language()))


@bp.route("/coach/patients/<int:patient_id>/plan/items/<int:item_id>/resume", methods=["POST"])
@coach_only
@bp.response(200, PlanItemSchema)
@problems("item_not_paused")
@bp.doc(operationId="resumePlanItem")
def resume_plan_item(patient_id: int, item_id: int):
    """End an item's pause: it is on the patient's days again from today (as the plan editor's Resume)."""
    patient = _my_patient(patient_id)
    plan, item = _plan_item(patient, item_id)
    try:
        pause_service.resume_item(plan, item, _coach())
    except pause_service.PauseError as error:
        db.session.rollback()
        return problem(409, str(error), code="item_not_paused")
    db.session.commit()
    db.session.refresh(item)
    return present.plan_item(item, item_text(item.library_item, current_language()))


@bp.route("/coach/patients/<int:patient_id>/exercises/resume", methods=["POST"])
@coach_only
@bp.response(200, ExercisesResumedSchema)
@bp.doc(operationId="resumeExercises")
def resume_patient_exercises(patient_id: int):
    """Make the exercises a red flag paused available again (as the patient page's "Resume exercises")."""
    patient = _my_patient(patient_id)
    resumed = resume_exercises(patient, _coach())
    db.session.commit()
    return {"resumed": resumed}


@bp.route("/coach/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@coach_only
@bp.response(200, AlertSchema)
@problems("alert_closed")
@bp.doc(operationId="acknowledgeAlert")
def acknowledge(alert_id: int):
    """Say "I have seen this and I am contacting the patient" (as the alert's Acknowledge button).

    The patient's Today then names the coach who has seen the report. Acknowledging twice keeps the
    first acknowledgement; a resolved alert is 409 `alert_closed`. Who may: the patient's coach, and
    once the alert is escalated every coach of the patient's clinic (anyone else: 404).
    """
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound()
    coach = _coach()
    if not can_acknowledge(coach, alert):
        if alert.is_open or not can_view_patient(coach, alert.patient):
            raise NotFound()
        return problem(409, _("This alert was already resolved."), code="alert_closed")
    try:
        acknowledge_alert(alert, coach)
    except AlertError as error:
        db.session.rollback()
        return problem(409, str(error), code="alert_closed")
    db.session.commit()
    return present.alert(alert, alert.patient.name, present.acknowledger(alert))
