"""The patient's daily check-in, its read-only history, and the weekly PEG check."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import patient_required
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
from portal.care.red_flags import RED_FLAG_QUESTIONS, TIER_RULES, TIERS_BY_RANK, tier_rule
from portal.exercises.translations import item_texts
from portal.extensions import db
from portal.i18n import current_language
from portal.pagination import page_arg
from portal.patients.blueprint import bp
from portal.patients.forms import CheckInForm, WeeklyOutcomeForm

HISTORY_PAGE_SIZE = 20


def _filled_form(checkin, plan_today) -> CheckInForm:
    """Today's form filled from the saved check-in (if any) and what was ticked on Today."""
    form = CheckInForm(formdata=None)
    form.items_done.choices = _item_choices(plan_today)
    form.items_done.data = [entry.plan_item.id for entry in plan_today.items if entry.done and entry.can_mark]
    if checkin is None:
        form.spasm_episodes.data = 0  # the common answer; the patient changes it when needed
        return form
    form.pain.data = checkin.pain
    form.stiffness.data = checkin.stiffness
    form.spasm_episodes.data = checkin.spasm_episodes
    form.sleep_quality.data = str(checkin.sleep_quality) if checkin.sleep_quality else ""
    form.water_glasses.data = checkin.water_glasses
    form.notes.data = checkin.notes
    for name, _question in RED_FLAG_QUESTIONS:
        getattr(form, name).data = "yes" if getattr(checkin, name) else "no"
    return form


def _item_choices(plan_today, *, paused_too: bool = False) -> list[tuple[int, str]]:
    """The ticks offered, titled in the patient's language: a paused item cannot be marked done,
    here as on Today. ``paused_too`` accepts one ticked on a form opened before the pause (it is
    then left alone, not an error)."""
    entries = [entry for entry in plan_today.items if paused_too or entry.can_mark]
    texts = item_texts([entry.library_item for entry in entries], current_language())
    return [(entry.plan_item.id, texts[entry.library_item.id].title) for entry in entries]


def _posted_day(form: CheckInForm, today: date) -> tuple[int, str] | None:
    """(status, message) when the form was for another day than today, else None."""
    raw = (form.day.data or "").strip()
    if not raw:
        return None  # a form without the field is for today
    try:
        posted = date.fromisoformat(raw)
    except ValueError:
        return 400, _("The form's date was not understood. Please use the form below.")
    if posted > today:
        return 422, _("That date is in the future. You can only check in for today.")
    if posted < today:
        return 409, _(
            "This form was for %(day)s, and earlier days can no longer be changed. Here is today's check-in.",
            day=format_date(posted, "EEEE, MMMM d"),
        )
    return None


@bp.route("/checkin", methods=["GET", "POST"])
@patient_required
def checkin():
    patient = current_user
    today = patient_today(patient)
    # The check-in page does not tell the coach's plan changes (Today does).
    plan_today = today_service.todays_plan(patient, today, plan_changes=False)
    existing = checkin_for(patient.id, today)
    page = _CheckInPage(patient, today, plan_today, existing)
    if request.method == "GET":
        return page.render(_filled_form(existing, plan_today))
    form = CheckInForm()
    form.items_done.choices = _item_choices(plan_today, paused_too=True)
    valid = form.validate()
    if form.csrf_token.errors:  # a forged or expired form is a 400 before anything else is looked at
        return page.render(form, 400)
    day_problem = _posted_day(form, today)
    if day_problem is not None:
        status, message = day_problem
        # Show today's form again, filled from what is saved, not from the stale post.
        return page.render(_filled_form(existing, plan_today), status, day_problem=message)
    if not valid:
        return page.render(form, 422)
    return _save_and_confirm(patient, today, form, plan_today, existing)


def _save_and_confirm(patient, today: date, form: CheckInForm, plan_today, existing):
    """Save today's check-in from a valid form, commit, and say what happens next."""
    try:
        result = save_checkin(
            patient, today, form.values(), set(form.items_done.data or []), plan_today, existing=existing
        )
    except CheckInClosed as error:  # the local day turned over mid-request
        db.session.rollback()
        abort(409, str(error))
    red_flag = result.checkin.has_red_flag  # before the commit expires the row (after, it is read again)
    db.session.commit()
    if red_flag:
        flash(_("Your check-in is saved. Please read the safety advice below now."), "danger")
    else:
        flash(_("Check-in saved. Thank you!") if result.created else _("Today's check-in is updated."), "success")
    return redirect(url_for("patients.checkin"))


class _CheckInPage:
    """The check-in page for one patient and day, rendered with a form and a status."""

    def __init__(self, patient, today: date, plan_today, existing) -> None:
        self.patient, self.today, self.plan_today, self.existing = patient, today, plan_today, existing

    def render(self, form: CheckInForm, status: int = 200, day_problem: str | None = None):
        form.day.data = self.today.isoformat()
        form.items_done.choices = _item_choices(self.plan_today)
        return (
            render_template(
                "patients/checkin.html",
                form=form,
                today=self.today,
                existing=self.existing,
                due=[entry for entry in self.plan_today.items if entry.can_mark],
                day_problem=day_problem,
                clinic_phone=self.patient.clinic_phone,
                peg_due=outcome_for_week(self.patient.id, week_start_for(self.today)) is None,
                questions=RED_FLAG_QUESTIONS,
                # After saving, the advice of the highest tier reported; before, each tier's for checkin.js.
                saved_rule=tier_rule(self.existing.red_flag_tier) if self.existing is not None else None,
                tier_rules=[TIER_RULES[tier] for tier in TIERS_BY_RANK],
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
    today = patient_today(current_user)
    if wanted == today:
        return redirect(url_for("patients.checkin"))
    item = checkin_for(current_user.id, wanted) if wanted < today else None
    if item is None:
        abort(404)
    return render_template("patients/checkin_day.html", checkin=item)


@bp.app_template_global("checkin_detail_text")
def checkin_detail_text() -> dict:
    """The check-in detail's labels and safety questions in the request's language, looked up once: a page
    that shows many check-ins (the coach's patient page) passes one to every detail instead of translating
    the same dozen strings again for each check-in."""
    return {
        "pain": _("Pain (0–10)"),
        "stiffness": _("Stiffness (0–10)"),
        "spasms": _("Spasm episodes"),
        "sleep": _("Sleep (1–5)"),
        "water": _("Glasses of water"),
        "safety": _("Safety questions"),
        "yes": _("Yes"),
        "no": _("No"),
        "notes": _("Notes"),
        "questions": tuple((name, str(question)) for name, question in RED_FLAG_QUESTIONS),
    }


@bp.route("/history")
@patient_required
def history():
    pagination = db.paginate(
        checkin_history_query(current_user.id), page=page_arg(), per_page=HISTORY_PAGE_SIZE, max_per_page=HISTORY_PAGE_SIZE,
        error_out=False,
    )  # fmt: skip
    return render_template(
        "patients/history.html", pagination=pagination, today=patient_today(current_user), questions=RED_FLAG_QUESTIONS
    )


@bp.route("/weekly-check", methods=["GET", "POST"])
@patient_required
def weekly_check():
    patient = current_user
    today = patient_today(patient)
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
        flash(_("Weekly check saved.") if created else _("This week's answers are updated."), "success")
        return redirect(url_for("patients.progress"))
    status = 200
    if request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
    return render_template("patients/checkin_weekly.html", form=form, week=week, existing=existing), status
