"""The patient's progress page, its chart data (JSON) and the own-data export."""

from __future__ import annotations

from flask import Response, render_template, request
from flask_login import current_user

from portal import audit
from portal.auth.access import patient_required
from portal.care.checkins import patient_today
from portal.care.goals import goal_chart_data, rating_history
from portal.care.models import peg_score
from portal.care.progress import chart_data_for, chart_days, progress_for
from portal.extensions import db
from portal.patients.blueprint import bp
from portal.patients.export import collect, to_csv_zip, to_json


@bp.route("/progress")
@patient_required
def progress():
    days = chart_days(request.args.get("days"))
    today = patient_today(current_user)
    data = progress_for(current_user.id, today, days)
    return render_template(
        "patients/progress.html",
        progress=data,
        days=days,
        today=today,
        goal_history=rating_history(current_user.id),
        goal_chart_data=goal_chart_data,
    )


@bp.route("/progress/data.json")
@patient_required
def progress_data():
    days = chart_days(request.args.get("days"))
    return chart_data_for(current_user.id, patient_today(current_user), days)


def _export_name(extension: str) -> str:
    return f"holistiq-my-data-{patient_today(current_user).isoformat()}.{extension}"


def _download(fmt: str, render, mimetype: str, extension: str) -> Response:
    """The patient's own data as a file; every export is audited."""
    body = render(collect(current_user))
    audit.record("data.export", current_user, patient=current_user, format=fmt)
    db.session.commit()
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{_export_name(extension)}"'}
    )


@bp.route("/export.json")
@patient_required
def export_json():
    return _download("json", to_json, "application/json", "json")


@bp.route("/export-csv.zip")
@patient_required
def export_csv():
    return _download("csv", to_csv_zip, "application/zip", "csv.zip")


@bp.app_template_filter("peg_score")
def peg_score_filter(row) -> float:
    """PEG score (mean of the three answers) of a row from progress.peg_series."""
    return peg_score(*row[1:])
