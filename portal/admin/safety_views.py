"""The admins' "Safety" page: escalated alerts waiting for someone, and per clinic the red-flag figures of the last
30 and 90 days (table and CSV)."""

from __future__ import annotations

from flask import Response, abort, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy.orm import contains_eager

from portal import audit
from portal.admin.blueprint import bp
from portal.admin.forms import ActionForm
from portal.auth.models import Role, User
from portal.care.alerts import can_acknowledge
from portal.care.models import Alert, AlertKind
from portal.care.red_flags import TIER_RULES, TIERS_BY_RANK
from portal.care.safety_figures import safety_figures
from portal.coaching.alert_views import acknowledge_and_tell
from portal.csvutil import csv_line
from portal.extensions import db
from portal.timeutil import utcnow


def escalated_alerts_query():
    """Open escalated red-flag alerts, the longest waiting first, with their patient."""
    return (
        db.select(Alert)
        .join(User, User.id == Alert.patient_id)
        .options(contains_eager(Alert.patient))
        .where(Alert.kind == str(AlertKind.RED_FLAG), Alert.open_key == 1, Alert.escalated_at.is_not(None))
        .order_by(Alert.acknowledged_at.is_not(None), Alert.escalated_at, Alert.id)
    )


def escalated_badge(role: str):
    """The admins' "Safety" badge: escalated alerts nobody has acknowledged yet (None for other roles)."""
    if role != Role.ADMIN:
        return None
    return db.select(func.count(Alert.id)).where(
        Alert.open_key == 1, Alert.escalated_at.is_not(None), Alert.acknowledged_at.is_(None)
    )


def duration(minutes: float | None) -> str:
    """Minutes as people read them: "45 min", "3 h 05 min", "2 d 4 h"; an em dash for none."""
    if minutes is None:
        return "—"
    whole = int(minutes)
    if whole < 60:
        return _("%(minutes)s min", minutes=format_decimal(minutes, "0.#"))
    hours, rest = divmod(whole, 60)
    if hours < 48:
        padded = f"{rest:02d}"
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=padded)
    days, hours = divmod(hours, 24)
    return _("%(days)s d %(hours)s h", days=days, hours=hours)


@bp.route("/safety")
def safety():
    escalated = db.session.scalars(escalated_alerts_query()).all()
    return render_template(
        "admin/safety.html",
        escalated=escalated,
        figures=safety_figures(),
        tiers=[TIER_RULES[tier] for tier in TIERS_BY_RANK],
        duration=duration,
        form=ActionForm(formdata=None),
    )


CSV_HEADER = [
    "clinic",
    "days",
    *(f"alerts_{TIER_RULES[tier].severity.lower()}" for tier in TIERS_BY_RANK),
    "alerts_total",
    "escalated",
    "acknowledge_median_minutes",
    "acknowledge_p90_minutes",
    "still_unacknowledged",
    "resolve_median_minutes",
    "resolve_p90_minutes",
    "still_open",
]


@bp.route("/safety.csv")
def safety_csv():
    """The same figures as a CSV download (audited; every cell through the CSV-injection rule)."""
    lines = [csv_line(CSV_HEADER)]
    for row in safety_figures():
        lines.append(
            csv_line(
                [
                    row.clinic_name or _("No clinic"),
                    row.days,
                    *(row.by_tier[str(tier)] for tier in TIERS_BY_RANK),
                    row.total,
                    row.escalated,
                    row.acknowledge_median,
                    row.acknowledge_p90,
                    row.unacknowledged,
                    row.resolve_median,
                    row.resolve_p90,
                    row.open,
                ]
            )
        )
    audit.record("safety.export", None, rows=len(lines) - 1)
    db.session.commit()
    stamp = utcnow().strftime("%Y-%m-%d")
    return Response(
        "".join(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=safety-{stamp}.csv"},
    )


@bp.route("/safety/alerts/<int:alert_id>/acknowledge", methods=["POST"])
def acknowledge_escalated(alert_id: int):
    """An admin acknowledges an escalated alert (someone is contacting the patient); anything else is 404."""
    alert = db.session.get(Alert, alert_id)
    if alert is None or not can_acknowledge(current_user, alert):
        abort(404)
    if not ActionForm().validate():
        abort(400, _("Your form expired. Please send it again."))
    acknowledge_and_tell(alert)
    return redirect(url_for("admin.safety"))
