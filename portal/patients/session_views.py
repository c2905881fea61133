"""The guided session: today's due movements one at a time, each step a page and a form.

The step is in the URL (1..n, then n+1 for the summary), so the session works without
JavaScript and survives a reload; session.js only saves the reloads and adds the timer.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import patient_required
from portal.care.checkins import checkin_for, outcome_for_week, week_start_for
from portal.care.today import (
    CannotMark,
    TodayItem,
    TodayPlan,
    log_session,
    next_step,
    plan_item_for_patient,
    rounds_of,
    session_items,
    sessions_count,
    todays_plan,
)
from portal.errors import render_error
from portal.exercises.translations import item_texts
from portal.extensions import db
from portal.i18n import current_language
from portal.patients.blueprint import bp
from portal.patients.today_forms import SessionDoneForm


def wants_json() -> bool:
    """A fetch() from our scripts asks for JSON; a plain form post gets a redirect."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def refuse_mark(error: CannotMark, page):
    """The one answer to marking an item that cannot be marked now (not due today, or paused):
    nothing kept, 409 with the rule's message — as JSON for our scripts, else ``page()`` (the page
    the patient marked from) with the message shown at the top."""
    db.session.rollback()
    if wants_json():
        return render_error(409, str(error))
    flash(str(error), "warning")
    return page(), 409


@bp.route("/today/session")
@patient_required
def session_start():
    steps = session_items(todays_plan(current_user))
    return redirect(url_for("patients.session_step", step=next_step(steps, 0)))


@bp.route("/today/session/<int:step>")
@patient_required
def session_step(step: int):
    plan_today = todays_plan(current_user)
    steps = session_items(plan_today)
    if not 1 <= step <= len(steps) + 1:
        abort(404)
    return _step_page(plan_today, steps, step)


def _step_page(plan_today: TodayPlan, steps: list[TodayItem], step: int) -> str:
    """Step ``step`` of the session (1..n), or the summary (n+1)."""
    texts = item_texts([entry.library_item for entry in steps], current_language())
    if step == len(steps) + 1:
        week = week_start_for(plan_today.day)
        checked_in = checkin_for(current_user.id, plan_today.day) is not None
        weekly_due = checked_in and outcome_for_week(current_user.id, week) is None
        return render_template(
            "patients/session_summary.html",
            steps=steps,
            rounds=rounds_of(steps),
            sessions=sessions_count(steps),
            texts=texts,
            checked_in=checked_in,
            weekly_due=weekly_due,
        )
    entry = steps[step - 1]
    return render_template(
        "patients/session.html",
        entry=entry,
        text=texts[entry.library_item.id],
        step=step,
        total=len(steps),
        next_step=next_step(steps, step),
        form=SessionDoneForm(formdata=None),
    )


@bp.route("/today/session/<int:step>", methods=["POST"])
@patient_required
def session_done(step: int):
    """ "Done": record one session of this step's movement and go on to the next step."""
    steps = session_items(todays_plan(current_user))
    form = SessionDoneForm()
    if not 1 <= step <= len(steps) and not (step >= 1 and form.item.data):
        abort(404)
    if not form.validate_on_submit():
        abort(400, _("Choose whether the item is done or not done."))
    # The item the step showed; a form without it (an older page) means the step's item now.
    item = plan_item_for_patient(current_user, form.item.data) if form.item.data else steps[step - 1].plan_item
    if item is None:
        abort(404)
    try:
        log_session(current_user, item, undo=form.done.data == "0")
    except CannotMark as error:
        return refuse_mark(error, lambda: _page_after_refusal(step))
    db.session.commit()
    target = url_for("patients.session_step", step=next_step(steps, step))
    if wants_json():
        return jsonify(next=target)
    return redirect(target)


def _page_after_refusal(step: int) -> str:
    """The session again once a step could not be marked: the first step from ``step`` on that is
    still in the session and not done (a paused movement has left it), else the summary."""
    plan_today = todays_plan(current_user)
    steps = session_items(plan_today)
    return _step_page(plan_today, steps, next_step(steps, min(step, len(steps) + 1) - 1))
