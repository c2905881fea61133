"""The guided session: today's due movements one at a time, each step a page and a form.

The step is in the URL (1..n, then n+1 for the summary), so the session works without
JavaScript and survives a reload; session.js only saves the reloads and adds the timer.
"""

from __future__ import annotations

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import patient_required
from portal.care.checkins import checkin_for, outcome_for_week, week_start_for
from portal.care.today import (
    ItemPaused,
    NotDueToday,
    log_session,
    next_step,
    rounds_of,
    session_items,
    sessions_count,
    todays_plan,
)
from portal.exercises.translations import item_texts
from portal.extensions import db
from portal.i18n import current_language
from portal.patients.blueprint import bp
from portal.patients.today_forms import MarkDoneForm


def wants_json() -> bool:
    """A fetch() from our scripts asks for JSON; a plain form post gets a redirect."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


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
        form=MarkDoneForm(formdata=None),
    )


@bp.route("/today/session/<int:step>", methods=["POST"])
@patient_required
def session_done(step: int):
    """ "Done": record one session of this step's movement and go on to the next step."""
    steps = session_items(todays_plan(current_user))
    if not 1 <= step <= len(steps):
        abort(404)
    form = MarkDoneForm()
    if not form.validate_on_submit():
        abort(400, _("Choose whether the item is done or not done."))
    entry = steps[step - 1]
    try:
        log_session(current_user, entry.plan_item, undo=form.done.data == "0")
    except NotDueToday as error:
        db.session.rollback()
        abort(400, str(error))
    except ItemPaused as error:
        db.session.rollback()
        abort(409, str(error))
    db.session.commit()
    target = url_for("patients.session_step", step=next_step(steps, step))
    if wants_json():
        return jsonify(next=target)
    return redirect(target)
