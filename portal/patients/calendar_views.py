"""The patient's plan to take away: a printable page and a calendar (.ics) download."""

from __future__ import annotations

from flask import Response, abort, render_template
from flask_login import current_user

from portal import audit
from portal.auth.access import patient_required
from portal.care.plans import active_plan
from portal.extensions import db
from portal.i18n import current_language
from portal.mail import public_url
from portal.patients.blueprint import bp
from portal.patients.calendar import plan_calendar, scheduled_items
from portal.timeutil import local_today


def _plan_or_404():
    plan = active_plan(current_user.id)
    if plan is None:
        abort(404)
    return plan


@bp.route("/plan/print")
@patient_required
def plan_print():
    """The whole plan on one page, laid out for A4 or Letter paper (no navigation)."""
    plan = active_plan(current_user.id)
    items = [item for item in plan.items if item.is_active] if plan else []
    coach = (plan.coach if plan else None) or current_user.coach
    return render_template(
        "patients/plan_print.html",
        plan=plan,
        items=items,
        coach=coach,
        clinic=current_user.clinic,
        today=local_today(current_user.tz),
        plan_times=current_user.plan_times,
        # Printed links must lead to the portal itself, whatever Host the page was asked with.
        public_url=public_url,
    )


@bp.route("/plan/calendar.ics")
@patient_required
def plan_calendar_file():
    """Download the plan as recurring calendar events (RFC 5545)."""
    plan = _plan_or_404()
    body = plan_calendar(plan, current_user.tz, current_user.plan_times, locale=current_language())
    audit.record("plan.calendar_export", plan, patient=current_user, items=len(scheduled_items(plan)))
    db.session.commit()
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": 'attachment; filename="holistiq-home-plan.ics"',
            "X-Content-Type-Options": "nosniff",
        },
    )
