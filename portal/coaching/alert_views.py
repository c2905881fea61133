"""The coach's alert inbox, and the coach's read-only views of a patient's check-ins."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import bindparam
from sqlalchemy.orm import contains_eager
from wtforms import RadioField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal import audit
from portal.auth.access import coach_required, patient_for_coach_or_404
from portal.auth.models import User

# Module imports (not names): patients and coaching import each other's services, and
# a partially initialised module is fine as long as names are looked up at call time.
from portal.care import checkins as checkin_service
from portal.care import progress as progress_service
from portal.care.alerts import (
    MAX_NOTE,
    AlertError,
    acknowledge_alert,
    can_acknowledge,
    open_alert_count,
    open_alerts_statement,
    resolve_alert,
    resolved_alerts_query,
    resume_exercises,
)
from portal.care.models import Alert, AlertKind, CheckIn
from portal.care.red_flags import RED_FLAG_QUESTIONS
from portal.coaching.blueprint import bp
from portal.coaching.plan_views import render_patient_page
from portal.extensions import db
from portal.forms import PortalForm, no_control_chars, strip_filter
from portal.i18n import force_locale, supported_language
from portal.messaging.services import deliver_after_commit, send_message
from portal.pagination import Page, page_arg
from portal.sqlutil import KeptStatement
from portal.timeutil import as_local

INBOX_PAGE_SIZE = 20
HISTORY_PAGE_SIZE = 20


class ResolveAlertForm(PortalForm):
    note = TextAreaField(
        _l("What did you do? (note for the record)"),
        validators=[
            DataRequired(message=_l("Write a short note on how you handled this alert.")),
            Length(max=MAX_NOTE, message=_l("Keep the note under %(count)s characters.", count=MAX_NOTE)),
            no_control_chars,
        ],
        filters=[strip_filter],
        render_kw={"rows": 2, "maxlength": MAX_NOTE},
    )
    # Asked only for a red flag: whether the exercises it paused come back now.
    resume = RadioField(
        _l("Resume the paused exercises now?"),
        choices=[("yes", _l("Yes, resume them now")), ("no", _l("No, keep them paused"))],
        validate_choice=False,
    )

    def resume_error(self, alert: Alert) -> str | None:
        if alert.is_open and alert.kind == AlertKind.RED_FLAG and self.resume.data not in ("yes", "no"):
            return _("Choose whether to resume the paused exercises now.")
        return None


class AcknowledgeForm(PortalForm):
    """Just the CSRF token: "Acknowledge" on an alert."""


class ResumeExercisesForm(PortalForm):
    """Just the CSRF token: resuming paused exercises from the patient's summary."""


def _inbox(form: ResolveAlertForm | None = None, failed_id: int | None = None, status: int = 200):
    show = request.args.get("show", "open")
    if show not in ("open", "resolved"):
        abort(400, _("Choose open or resolved alerts."))
    if show == "open":
        # The inbox's own statement, kept with the coach's id bound; its total is the Alerts badge's count.
        page = page_arg()
        window = {"coach_id": current_user.id, "limit": INBOX_PAGE_SIZE, "offset": (page - 1) * INBOX_PAGE_SIZE}
        items = db.session.scalars(_open_inbox_page(), window).all()
        pagination = Page(items=items, page=page, per_page=INBOX_PAGE_SIZE, total=open_alert_count(current_user))
    else:
        pagination = db.paginate(
            _with_patient_and_checkin(resolved_alerts_query(current_user)),
            page=page_arg(),
            per_page=INBOX_PAGE_SIZE,
            max_per_page=INBOX_PAGE_SIZE,
            error_out=False,
        )
    resolvers = {}
    if show == "resolved":
        ids = {a.resolved_by_id for a in pagination.items if a.resolved_by_id}
        if ids:
            resolvers = dict(db.session.execute(db.select(User.id, User.name).where(User.id.in_(ids))).all())
    return (
        render_template(
            "coaching/alerts.html",
            pagination=pagination,
            show=show,
            form=form or ResolveAlertForm(formdata=None),
            failed_id=failed_id,
            resolvers=resolvers,
            open_count=pagination.total if show == "open" else open_alert_count(current_user),
        ),
        status,
    )


def _with_patient_and_checkin(query):
    """The patient (and who resolved) come in the same SELECT: no query per alert."""
    alert = query.column_descriptions[0]["expr"]  # Alert, or the alias the open alerts are read through
    return query.outerjoin(CheckIn, CheckIn.id == alert.checkin_id).options(
        contains_eager(alert.patient), contains_eager(alert.checkin)
    )


def _build_open_inbox_page():
    return (
        _with_patient_and_checkin(open_alerts_statement(bindparam("coach_id")))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


# Every visit to the inbox runs it: building it and its cache key cost more than running it.
_open_inbox_page = KeptStatement(_build_open_inbox_page)


@bp.route("/alerts")
@coach_required
def alerts():
    return _inbox()


@bp.route("/alerts/<int:alert_id>/resolve", methods=["POST"])
@coach_required
def resolve(alert_id: int):
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        abort(404)
    patient_for_coach_or_404(alert.patient_id)  # someone else's patient: 404
    form = ResolveAlertForm()
    valid = form.validate()
    resume_error = form.resume_error(alert)
    if resume_error:
        form.resume.errors = [resume_error]
    back_to_patient = request.form.get("next") == "patient"
    if not valid or resume_error:
        status = 400 if form.csrf_token.errors else 422
        if back_to_patient:
            return _patient_summary_failed(alert, form, status)
        return _inbox(form, failed_id=alert.id, status=status)
    resume = alert.kind == AlertKind.RED_FLAG and form.resume.data == "yes"
    try:
        resolve_alert(alert, current_user, form.note.data, resume=resume)
    except AlertError as error:
        db.session.rollback()
        abort(409, str(error))
    email = _tell_patient_exercises_resumed(alert) if resume else None
    db.session.commit()
    deliver_after_commit(email)
    flash(_("Alert for %(name)s resolved.", name=alert.patient.name), "success")
    if resume:
        flash(_("%(name)s's exercises are available again.", name=alert.patient.name), "success")
    if back_to_patient:
        return redirect(url_for("coaching.patient_detail", patient_id=alert.patient_id))
    return redirect(url_for("coaching.alerts"))


def _tell_patient_exercises_resumed(alert: Alert):
    """The portal message that tells the patient their coach resumed the exercises, with the coach's note, in the
    patient's language (Today says the same until they dismiss it); returns its notification email, if any."""
    patient = alert.patient
    with force_locale(supported_language(patient.language)):
        body = _(
            "Your coach resumed your exercises on %(day)s: %(note)s",
            day=format_date(as_local(alert.resolved_at, patient.tz).date(), "EEEE, MMMM d"),
            note=alert.note,
        )
    _message, email = send_message(current_user, patient, body)
    return email


def acknowledge_and_tell(alert: Alert) -> None:
    """Acknowledge the alert as the current user, commit, and say what happened (the first
    acknowledgement wins; one the care rules refuse answers 409). The coach's and the admin's pages share it."""
    try:
        acknowledged = acknowledge_alert(alert, current_user)
    except AlertError as error:
        db.session.rollback()
        abort(409, str(error))
    db.session.commit()
    if acknowledged:
        flash(_("You acknowledged the alert for %(name)s. Contact them now.", name=alert.patient.name), "success")
    else:
        flash(_("%(who)s had already acknowledged this alert.", who=alert.acknowledged_by.name), "info")


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@coach_required
def acknowledge(alert_id: int):
    """ "I have seen this and I am contacting the patient": the patient's coach, or once it is escalated any coach
    of the clinic. Anyone else's alert answers 404."""
    alert = db.session.get(Alert, alert_id)
    own = alert is not None and alert.patient.coach_id == current_user.id
    if alert is None or not (own or can_acknowledge(current_user, alert)):
        abort(404)
    if not AcknowledgeForm().validate():
        abort(400, _("Your form expired. Please send it again."))
    acknowledge_and_tell(alert)
    if request.form.get("next") == "patient" and own:
        return redirect(url_for("coaching.patient_detail", patient_id=alert.patient_id))
    return redirect(url_for("coaching.alerts"))


def _patient_summary_failed(alert: Alert, form: ResolveAlertForm, status: int):
    """The patient's page again, with the resolve form's errors next to its fields."""
    return render_patient_page(alert.patient, status=status, resolve=form, failed_alert_id=alert.id)


@bp.route("/patients/<int:patient_id>/resume-exercises", methods=["POST"])
@coach_required
def resume_patient_exercises(patient_id: int):
    patient = patient_for_coach_or_404(patient_id)
    form = ResumeExercisesForm()
    if not form.validate():
        abort(400, _("Your form expired. Please send it again."))
    if resume_exercises(patient, current_user):
        flash(_("%(name)s's exercises are available again.", name=patient.name), "success")
    else:
        flash(_("%(name)s's exercises were not paused.", name=patient.name), "info")
    db.session.commit()
    return redirect(url_for("coaching.patient_detail", patient_id=patient.id))


@bp.route("/patients/<int:patient_id>/progress/data.json")
@coach_required
def patient_progress_data(patient_id: int):
    patient = patient_for_coach_or_404(patient_id)
    days = progress_service.chart_days(request.args.get("days"))
    data = progress_service.chart_data_for(patient.id, checkin_service.patient_today(patient), days)
    audit.record("patient.view", patient, patient=patient, section="chart data", days=days)
    db.session.commit()
    return data


@bp.route("/patients/<int:patient_id>/checkins")
@coach_required
def patient_checkins(patient_id: int):
    """The patient's full check-in history with notes and red-flag answers."""
    patient = patient_for_coach_or_404(patient_id)
    pagination = db.paginate(
        checkin_service.checkin_history_query(patient.id), page=page_arg(), per_page=HISTORY_PAGE_SIZE, max_per_page=HISTORY_PAGE_SIZE,
        error_out=False,
    )  # fmt: skip
    audit.record("patient.view", patient, patient=patient, section="check-in history", page=pagination.page)
    db.session.commit()
    return render_template(
        "coaching/patient/checkins.html",
        patient=patient,
        pagination=pagination,
        questions=RED_FLAG_QUESTIONS,
    )
