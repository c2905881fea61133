"""The patient's own goals (PSFS): "Rate your activities" every two weeks, and their data for the progress chart."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import patient_required
from portal.care import goals as goal_service
from portal.care.goals import GoalError
from portal.extensions import db
from portal.forms import PortalForm
from portal.patients.blueprint import bp


class RateForm(PortalForm):
    """The CSRF check of "Rate your activities"; the ratings are checked by the care service."""


def _posted_ratings(goal_ids: list[int]) -> tuple[dict[int, object], set[int], list[dict[str, object]]]:
    """(ratings by goal id, goal ids to retire, new activity rows) from the form."""
    ratings: dict[int, object] = {}
    for key, value in request.form.items():
        if key.startswith("goal-") and key[5:].isdigit() and len(key) < 16:
            ratings[int(key[5:])] = value
    retire = {int(v) for v in request.form.getlist("retire") if v.isdigit() and len(v) < 10}
    rows = []
    n = 0
    while (f"new-{n}-activity" in request.form or f"new-{n}-score" in request.form) and n <= goal_service.MAX_GOALS:
        rows.append({"activity": request.form.get(f"new-{n}-activity"), "score": request.form.get(f"new-{n}-score")})
        n += 1
    for goal_id in goal_ids:
        ratings.setdefault(goal_id, None)
    return ratings, retire, rows


def _render(goals, *, ratings=None, retire=(), rows=None, errors=None, status=200):
    rows = list(rows or [])
    free = max(1, goal_service.MAX_GOALS - len(goals))
    rows += [{"activity": "", "score": None}] * (free - len(rows))
    return (
        render_template(
            "patients/rate_goals.html",
            form=RateForm(),
            goals=goals,
            ratings=ratings or {},
            retire=set(retire),
            rows=rows[: free + (1 if errors else 0)],
            errors=errors or {},
            max_activity=goal_service.MAX_ACTIVITY,
            low_label=goal_service.LOW_LABEL,
            high_label=goal_service.HIGH_LABEL,
        ),
        status,
    )


@bp.route("/goals/rate", methods=["GET", "POST"])
@patient_required
def rate_goals():
    patient = current_user._get_current_object()
    goals = goal_service.active_goals(patient.id)
    if request.method == "GET":
        return _render(goals)
    form = RateForm()
    if not form.validate():
        return _render(goals, status=400)
    ratings, retire, rows = _posted_ratings([goal.id for goal in goals])
    try:
        goal_service.rate_activities(patient, ratings, retire, rows)
    except GoalError as error:
        db.session.rollback()
        return _render(goals, ratings=ratings, retire=retire, rows=rows, errors=error.errors, status=422)
    db.session.commit()
    flash(_("Thank you. Your ratings are saved; your coach sees how they change."), "success")
    return redirect(url_for("patients.today"))


@bp.route("/goals/data.json")
@patient_required
def goals_data():
    return goal_service.goal_chart_data(goal_service.rating_history(current_user.id))


def today_goals_context(patient_id: int, day) -> dict:
    """What Today shows of the intake and the goals (one statement)."""
    state = goal_service.goals_today(patient_id)
    return {
        "goals": state,
        "rating_due": goal_service.rating_due(state.last_rated, day),
        "intake_finished": state.intake_finished,
    }
