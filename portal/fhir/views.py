"""FHIR downloads: the patient's own record, a coach's patient, and the practice's bulk files for admins."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, render_template, send_from_directory
from flask_login import current_user

from portal import audit
from portal.auth.access import admin_required, coach_required, patient_for_coach_or_404, patient_required
from portal.care.checkins import patient_today
from portal.extensions import db
from portal.fhir.export import RESOURCE_TYPES, audit_patient_export, export_directory, patient_bundle

bp = Blueprint("fhir", __name__)

FHIR_JSON = "application/fhir+json"


def _bundle_download(patient, filename: str) -> Response:
    body = json.dumps(patient_bundle(patient), ensure_ascii=False, indent=1)
    audit_patient_export(patient, current_user._get_current_object())
    db.session.commit()
    return Response(body, mimetype=FHIR_JSON, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/me/export.fhir.json")
@patient_required
def my_record():
    """The patient's own record as a FHIR R4 Bundle, beside the CSV and JSON downloads."""
    return _bundle_download(current_user, f"holistiq-my-record-{patient_today(current_user).isoformat()}.fhir.json")


@bp.route("/coach/patients/<int:patient_id>/record.fhir.json")
@coach_required
def patient_record(patient_id: int):
    patient = patient_for_coach_or_404(patient_id)
    return _bundle_download(patient, f"holistiq-patient-{patient.id}-{patient_today(patient).isoformat()}.fhir.json")


@bp.route("/admin/fhir-export")
@admin_required
def bulk_files():
    directory = export_directory()
    files = []
    for kind in RESOURCE_TYPES:
        path = directory / f"{kind}.ndjson"
        if path.exists():
            stat = path.stat()
            files.append({"kind": kind, "size": stat.st_size, "modified": stat.st_mtime})
    return render_template("admin/fhir_export.html", files=files)


@bp.route("/admin/fhir-export/<kind>.ndjson")
@admin_required
def bulk_file(kind: str):
    """One resource type's NDJSON, streamed from disk (never read whole into memory)."""
    if kind not in RESOURCE_TYPES:
        abort(404)
    directory = export_directory()
    if not (directory / f"{kind}.ndjson").exists():
        abort(404)
    audit.record("fhir.bulk_download", None, resource_type=kind)
    db.session.commit()
    return send_from_directory(directory, f"{kind}.ndjson", mimetype="application/fhir+ndjson", as_attachment=True)
