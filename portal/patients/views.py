"""The patient's own pages: Today (their home) and My plan."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal import audit
from portal.auth.access import patient_required
from portal.care.alerts import dismiss_resume_notice as dismiss_alerts_notice
from portal.care.checkins import checkin_for
from portal.care.models import Alert
from portal.care.plan_changes import PendingChange, describe_change, dismiss_changes
from portal.care.plans import active_plan
from portal.care.red_flags import tier_rule
from portal.care.today import (
    CannotMark,
    log_session,
    plan_item_for_patient,
    session_items,
    todays_plan,
)
from portal.exercises.dosage import WEEKDAY_NAMES
from portal.exercises.translations import item_text, item_texts
from portal.extensions import db
from portal.i18n import current_language
from portal.patients.blueprint import bp
from portal.patients.goal_views import today_goals_context
from portal.patients.session_views import refuse_mark, wants_json
from portal.patients.today_forms import DismissChangesForm, DismissForm, MarkDoneForm
from portal.timeutil import local_today


@bp.route("/")
@patient_required
def today():
    return _today_page()


def _today_page() -> str:
    """Today: the day's items by group, the check-in prompt and the safety box when a red flag is open."""
    patient = current_user._get_current_object()  # read a dozen times below: the user, not its proxy
    plan_today = todays_plan(patient)
    checked_in = checkin_for(patient.id, plan_today.day) is not None
    return render_template(
        "patients/today.html",
        **today_goals_context(patient.id, plan_today.day),
        today=plan_today,
        plan_changes=_in_words(plan_today.plan_changes),
        checked_in=checked_in,
        has_session=bool(session_items(plan_today)),
        form=MarkDoneForm(formdata=None),
        safety_rule=tier_rule(plan_today.red_flag.open_tier),
        clinic_phone=patient.clinic_phone,
    )


@bp.route("/today/resumed/<int:alert_id>/dismiss", methods=["POST"])
@patient_required
def dismiss_resume_notice(alert_id: int):
    """The patient has read that their coach resumed the exercises: the notice leaves Today."""
    alert = db.session.get(Alert, alert_id)
    if alert is None or alert.patient_id != current_user.id:
        abort(404)
    if not DismissForm().validate_on_submit():
        abort(400, _("Your form expired. Please send it again."))
    if dismiss_alerts_notice(current_user, alert.id):
        audit.record("alert.resume_notice_dismiss", alert, patient=current_user.id)
    db.session.commit()
    return redirect(url_for("patients.today"))


def _in_words(changes: list[PendingChange]) -> list[tuple[str, str]]:
    """(the change in words, the coach's note) for "What changed in your plan", in the patient's language."""
    if not changes:
        return []
    texts = item_texts([change.plan_item.library_item for change in changes], current_language())
    return [(describe_change(change, texts[change.plan_item.library_item_id].title), change.note) for change in changes]


@bp.route("/today/plan-changes/dismiss", methods=["POST"])
@patient_required
def dismiss_plan_changes():
    """Close "What changed in your plan": the changes shown so far do not come back."""
    if not DismissChangesForm().validate():
        abort(400, _("Your form expired. Please send it again."))
    dismiss_changes(current_user.id)
    db.session.commit()
    return redirect(url_for("patients.today"))


@bp.route("/today/items/<int:plan_item_id>", methods=["POST"])
@patient_required
def mark_item(plan_item_id: int):
    """Log one session of today's item (done=1) or take one back (done=0): the same action as
    the guided session's "Done". A plain form POST, so it works without JavaScript; today.js
    sends the same POST with fetch and updates the card from the JSON answer."""
    item = plan_item_for_patient(current_user, plan_item_id)
    if item is None:
        abort(404)
    form = MarkDoneForm()
    if not form.validate_on_submit():
        abort(400, _("Choose whether the item is done or not done."))
    done = form.done.data == "1"
    # Read before the commit, which expires the item (reading it after costs a statement).
    item_id, title = item.id, item_text(item.library_item, current_language()).title
    try:
        log_session(current_user, item, undo=not done)
    except CannotMark as error:
        return refuse_mark(error, _today_page)
    db.session.commit()
    message = (
        _("Marked “%(title)s” done. Well done!", title=title)
        if done
        else _("Marked “%(title)s” not done.", title=title)
    )
    if wants_json():
        plan_today = todays_plan(current_user)
        entry = next(entry for entry in plan_today.items if entry.plan_item.id == item_id)
        return jsonify(
            message=message,
            card=render_template("patients/_today_card.html", entry=entry),
            progress=ngettext(
                "%(done)s of %(num)d session done today",
                "%(done)s of %(num)d sessions done today",
                plan_today.sessions_total,
                done=plan_today.sessions_done,
            ),
            done_count=plan_today.done_count,
            sessions_done=plan_today.sessions_done,
        )
    flash(message, "success")
    return redirect(url_for("patients.today", _anchor=f"item-{item_id}"))


@bp.route("/plan")
@patient_required
def my_plan():
    plan = active_plan(current_user.id)
    items = [item for item in plan.items if item.is_active] if plan else []
    # A paused item keeps its row (its days come back when resumed) but is not counted in a day.
    week = [
        (number, name, [item for item in items if str(number) in item.weekdays and item.open_pause is None])
        for number, name in enumerate(WEEKDAY_NAMES)
    ]
    today = local_today(current_user.tz)
    return render_template("patients/my_plan.html", plan=plan, items=items, week=week, today=today)
