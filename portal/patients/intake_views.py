""" "About your back": the intake in steps, one page each, kept between visits, ending with the patient's goals.

The questions, their checks and saving live in portal.care.intake and portal.care.goals
(the API calls the same); this module renders a step and reads the form.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import patient_required
from portal.care import goals as goal_service
from portal.care import intake as intake_service
from portal.care.goals import GoalError
from portal.care.intake import GOALS_STEP, LAST_STEP, MULTI, IntakeError, StepNotOpen
from portal.care.red_flags import tier_rule
from portal.extensions import db
from portal.forms import PortalForm
from portal.patients.blueprint import bp


class StepForm(PortalForm):
    """The CSRF check of a step's form; the answers are checked by the care service."""


def _posted_answers(number: int) -> dict[str, object]:
    """What the form sent for the step's questions (lists for multiple choices)."""
    current = intake_service.step(number)
    answers: dict[str, object] = {}
    for question in current.questions if current else ():
        if question.kind == MULTI:
            answers[question.name] = request.form.getlist(question.name)
            if question.other and f"{question.name}_other" in request.form:
                answers[f"{question.name}_other"] = request.form.get(f"{question.name}_other", "")
        elif question.name in request.form:
            answers[question.name] = request.form.get(question.name)
    return answers


def _posted_goals() -> list[dict[str, object]]:
    """The activity rows of the goals step, in order (``new-N-activity``/``new-N-score``)."""
    rows = []
    n = 0
    while (f"new-{n}-activity" in request.form or f"new-{n}-score" in request.form) and n <= goal_service.MAX_GOALS:
        rows.append({"activity": request.form.get(f"new-{n}-activity"), "score": request.form.get(f"new-{n}-score")})
        n += 1
    return rows


def _render(number: int, intake, *, answers: dict | None = None, rows: list | None = None, errors=None, status=200):
    current = intake_service.step(number)
    if rows is None and number == GOALS_STEP:
        rows = [{"activity": g.activity, "score": g.latest} for g in goal_service.goals_today(current_user.id).goals]
    rows = list(rows or [])
    rows += [{"activity": "", "score": None}] * (goal_service.MAX_GOALS - len(rows))
    return (
        render_template(
            "patients/intake_step.html",
            form=StepForm(),
            step=current,
            number=number,
            last=LAST_STEP,
            answers=answers if answers is not None else (intake.answers if intake else {}) or {},
            # A fourth row sent (a forged form) is shown again, with its message beside it.
            rows=rows[: goal_service.MAX_GOALS + (1 if errors else 0)],
            errors=errors or {},
            max_activity=goal_service.MAX_ACTIVITY,
            low_label=goal_service.LOW_LABEL,
            high_label=goal_service.HIGH_LABEL,
            # A "yes" to a safety question: its tier's advice, as after a check-in, until the intake is done.
            safety_rule=tier_rule(intake_service.safety_tier(intake.answers or {}))
            if intake is not None and number == GOALS_STEP and intake.finished_at is None
            else None,
            clinic_phone=current_user.clinic_phone,
        ),
        status,
    )


@bp.route("/about-your-back")
@patient_required
def intake():
    """Where the patient left off."""
    return redirect(
        url_for("patients.intake_step", number=intake_service.next_step(intake_service.intake_for(current_user.id)))
    )


@bp.route("/about-your-back/<int:number>", methods=["GET", "POST"])
@patient_required
def intake_step(number: int):
    patient = current_user._get_current_object()
    record = intake_service.intake_for(patient.id)
    if intake_service.step(number) is None:
        abort(404)
    if not intake_service.is_open(record, number):
        if request.method == "GET":
            return redirect(url_for("patients.intake_step", number=intake_service.next_step(record)))
        flash(_("Please answer the earlier steps first."), "warning")
        return _render(intake_service.next_step(record), record, status=409)
    if request.method == "GET":
        return _render(number, record)
    form = StepForm()
    if not form.validate():
        return _render(number, record, status=400)
    try:
        if number == GOALS_STEP:
            rows = _posted_goals()
            goal_service.finish_intake(patient, rows)
        else:
            answers = _posted_answers(number)
            intake_service.save_step(patient, number, answers)
    except (IntakeError, GoalError) as error:
        db.session.rollback()
        if number == GOALS_STEP:
            return _render(number, record, rows=rows, errors=error.errors, status=422)
        return _render(number, record, answers=answers, errors=error.errors, status=422)
    except StepNotOpen:
        db.session.rollback()
        return _render(intake_service.next_step(record), record, status=409)
    db.session.commit()
    if number == GOALS_STEP:
        flash(_("Thank you. Your coach now knows where you are starting from."), "success")
        return redirect(url_for("patients.today"))
    return redirect(url_for("patients.intake_step", number=number + 1))
