"""The patient's daily check-in, its read-only history, and the weekly PEG check."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.auth.access import patient_required
from portal.care import today as today_service
from portal.care.checkins import (
    CheckInClosed,
    checkin_for,
    checkin_history_query,
    outcome_for_week,
    save_checkin,
    save_weekly_outcome,
    today_for,
    week_start_for,
)
from portal.extensions import db
from portal.patients.blueprint import bp
from portal.patients.forms import RED_FLAG_QUESTIONS, CheckInForm, WeeklyOutcomeForm

HISTORY_PAGE_SIZE = 20


def _clinic_phone(patient) -> str | None:
    return patient.clinic.phone if patient.clinic is not None else None


def _fill_form(form: CheckInForm, checkin, plan_today) -> None:
    """Pre-fill a GET form from today's saved check-in and what was ticked on Today."""
    form.items_done.data = [entry.plan_item.id for entry in plan_today.items if entry.done]
    if checkin is None:
        form.spasm_episodes.data = 0  # the common answer; the patient changes it when needed
        return
    form.pain.data = checkin.pain
    form.stiffness.data = checkin.stiffness
    form.spasm_episodes.data = checkin.spasm_episodes
    form.sleep_quality.data = str(checkin.sleep_quality) if checkin.sleep_quality else ""
    form.water_glasses.data = checkin.water_glasses
    form.notes.data = checkin.notes
    for name, _question in RED_FLAG_QUESTIONS:
        getattr(form, name).data = "yes" if getattr(checkin, name) else "no"


def _item_choices(plan_today) -> list[tuple[int, str]]:
    return [(entry.plan_item.id, entry.title) for entry in plan_today.items]


def _posted_day(form: CheckInForm, today: date) -> tuple[int, str] | None:
    """(status, message) when the form was for another day than today, else None."""
    raw = (form.day.data or "").strip()
    if not raw:
        return None  # a form without the field is for today
    try:
        posted = date.fromisoformat(raw)
    except ValueError:
        return 400, "The form's date was not understood. Please use the form below."
    if posted > today:
        return 422, "That date is in the future. You can only check in for today."
    if posted < today:
        return 409, (
            f"This form was for {posted:%A, %B %-d}, and earlier days can no longer be changed. "
            "Here is today's check-in."
        )
    return None


@bp.route("/checkin", methods=["GET", "POST"])
@patient_required
def checkin():
    patient = current_user
    today = today_for(patient)
    plan_today = today_service.today_for(patient, today)
    form = CheckInForm()
    form.items_done.choices = _item_choices(plan_today)
    existing = checkin_for(patient.id, today)
    status = 200
    day_problem = None
    if request.method == "POST":
        valid = form.validate()
        # A forged or expired form is a 400 before anything else is looked at.
        day_problem = None if form.csrf_token.errors else _posted_day(form, today)
        if valid and day_problem is None:
            values = {
                "pain": form.pain.data,
                "stiffness": form.stiffness.data,
                "spasm_episodes": form.spasm_episodes.data,
                "sleep_quality": int(form.sleep_quality.data) if form.sleep_quality.data else None,
                "water_glasses": form.water_glasses.data,
                "notes": form.notes.data or "",
            }
            for name, _question in RED_FLAG_QUESTIONS:
                values[name] = getattr(form, name).data == "yes"
            try:
                result = save_checkin(patient, today, values, set(form.items_done.data or []), plan_today)
            except CheckInClosed as error:  # the local day turned over mid-request
                db.session.rollback()
                abort(409, str(error))
            db.session.commit()
            if result.checkin.has_red_flag:
                flash("Your check-in is saved. Please read the safety advice below now.", "danger")
            else:
                flash("Check-in saved. Thank you!" if result.created else "Today's check-in is updated.", "success")
            return redirect(url_for("patients.checkin"))
        if form.csrf_token.errors:
            status = 400
        elif day_problem is not None:
            status = day_problem[0]
            # Show today's form again, filled from what is saved, not from the stale post.
            form = CheckInForm(formdata=None)
            form.items_done.choices = _item_choices(plan_today)
            _fill_form(form, existing, plan_today)
        else:
            status = 422
    else:
        _fill_form(form, existing, plan_today)
    form.day.data = today.isoformat()
    return (
        render_template(
            "patients/checkin.html",
            form=form,
            today=today,
            existing=existing,
            due=plan_today.items,
            day_problem=day_problem[1] if day_problem else None,
            clinic_phone=_clinic_phone(patient),
            peg_due=outcome_for_week(patient.id, week_start_for(today)) is None,
            questions=RED_FLAG_QUESTIONS,
        ),
        status,
    )


@bp.route("/checkin/<day>")
@patient_required
def checkin_day(day: str):
    """A past check-in, read-only."""
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        abort(404)
    today = today_for(current_user)
    if wanted == today:
        return redirect(url_for("patients.checkin"))
    item = checkin_for(current_user.id, wanted) if wanted < today else None
    if item is None:
        abort(404)
    return render_template("patients/checkin_day.html", checkin=item, questions=RED_FLAG_QUESTIONS)


@bp.route("/history")
@patient_required
def history():
    pagination = db.paginate(
        checkin_history_query(current_user.id), per_page=HISTORY_PAGE_SIZE, max_per_page=HISTORY_PAGE_SIZE,
        error_out=False,
    )  # fmt: skip
    return render_template(
        "patients/history.html", pagination=pagination, today=today_for(current_user), questions=RED_FLAG_QUESTIONS
    )


@bp.route("/weekly-check", methods=["GET", "POST"])
@patient_required
def weekly_check():
    patient = current_user
    today = today_for(patient)
    week = week_start_for(today)
    existing = outcome_for_week(patient.id, week)
    form = WeeklyOutcomeForm(obj=existing if request.method == "GET" else None)
    if form.validate_on_submit():
        values = {
            "pain_average": form.pain_average.data,
            "enjoyment_interference": form.enjoyment_interference.data,
            "activity_interference": form.activity_interference.data,
        }
        _outcome, created = save_weekly_outcome(patient, values)
        db.session.commit()
        flash("Weekly check saved." if created else "This week's answers are updated.", "success")
        return redirect(url_for("patients.progress"))
    status = 200
    if request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
    return render_template("patients/checkin_weekly.html", form=form, week=week, existing=existing), status
