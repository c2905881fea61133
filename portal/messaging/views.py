"""Message threads: the patient's one thread, the coach's inbox and per-patient threads."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.auth.access import coach_required, patient_for_coach_or_404, patient_required
from portal.auth.models import User
from portal.extensions import db
from portal.messaging import services
from portal.messaging.blueprint import bp
from portal.messaging.forms import MessageForm
from portal.messaging.models import MAX_MESSAGE_LENGTH
from portal.pagination import page_arg


@bp.app_context_processor
def message_panel_helpers():
    """Lets the coach's patient page include templates/messaging/_patient_panel.html."""
    return {
        "message_panel": _panel_data,
        "message_max_length": MAX_MESSAGE_LENGTH,
        "message_has_endpoint": lambda endpoint: endpoint in current_app.view_functions,
    }


def _panel_data(patient: User) -> dict:
    return {
        "messages": services.recent_messages(patient),
        "unread": services.unread_by_patient([patient.id]).get(patient.id, 0),
        "form": MessageForm(formdata=None),
    }


@bp.route("/", methods=["GET", "POST"])
@patient_required
def patient_thread():
    """The patient's conversation with their coach."""
    patient = current_user._get_current_object()
    return _thread(patient, patient, template="messaging/patient_thread.html")


@bp.route("/inbox")
@coach_required
def coach_inbox():
    """A coach's threads: one per roster patient, unread first."""
    pagination = services.coach_inbox_page(current_user, page_arg())
    return render_template("messaging/coach_inbox.html", pagination=pagination)


@bp.route("/patients/<int:patient_id>", methods=["GET", "POST"])
@coach_required
def coach_thread(patient_id: int):
    """A coach's conversation with one of their patients (404 for anyone else's patient)."""
    patient = patient_for_coach_or_404(patient_id)
    return _thread(current_user._get_current_object(), patient, template="messaging/coach_thread.html")


def _thread(viewer: User, patient: User, template: str):
    form = MessageForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                _message, email = services.send_message(viewer, patient, form.body.data)
            except services.MessagingError as error:
                db.session.rollback()
                form.body.errors.append(str(error))
                status = 409
            else:
                db.session.commit()
                services.deliver_after_commit(email)
                flash(_("Message sent."), "success")
                return redirect(_after_send_url(patient))
        else:
            status = 400
    page = page_arg()
    if status == 200 and page == 1:
        # Opening the thread is reading it: the other side sees "Seen".
        if services.mark_read(patient, viewer):
            db.session.commit()
    if viewer.is_staff:
        audit.record("messages.view", patient, patient=patient)
        db.session.commit()
    pagination = services.thread_page(patient, page)
    has_coach = patient.coach is not None and patient.coach.is_active
    return (
        render_template(template, patient=patient, form=form, pagination=pagination, has_coach=has_coach),
        status,
    )


def _after_send_url(patient: User) -> str:
    # A fixed choice, never a URL from the form: no open redirect.
    if (
        request.form.get("back") == "patient"
        and current_user.is_coach
        and "coaching.patient_detail" in current_app.view_functions
    ):
        return url_for("coaching.patient_detail", patient_id=patient.id, _anchor="messages")
    if current_user.is_patient:
        return url_for("messaging.patient_thread", _anchor="message-form")
    return url_for("messaging.coach_thread", patient_id=patient.id, _anchor="message-form")
