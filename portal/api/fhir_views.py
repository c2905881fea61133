"""A patient's record as FHIR R4 through the API (bearer token): the patient's own, and a coach's patient's.

The same Bundle, builder and audit as the pages' downloads (portal.fhir.export), answered
as ``application/fhir+json``; a coach gets only a patient on their roster (404 otherwise),
by the same access check as the coach's pages.
"""

from __future__ import annotations

import json

from flask import Response, g

from portal.api.blueprint import bp, token_required
from portal.auth.access import patient_for_coach_or_404
from portal.auth.models import Role
from portal.extensions import db
from portal.fhir.export import audit_patient_export, patient_bundle

FHIR_JSON = "application/fhir+json"
BUNDLE_DOC = {
    "200": {
        "description": "The patient's record: a FHIR R4 Bundle of type collection (Patient, CarePlan, Goal, "
        "Observation, Questionnaire, QuestionnaireResponse, and Communication when the practice exports messages)",
        "content": {
            FHIR_JSON: {
                "schema": {
                    "type": "object",
                    "required": ["resourceType", "type", "entry"],
                    "properties": {
                        "resourceType": {"type": "string", "const": "Bundle"},
                        "type": {"type": "string", "const": "collection"},
                        "entry": {"type": "array", "items": {"type": "object"}},
                    },
                }
            }
        },
    }
}


def _bundle_response(patient) -> Response:
    body = json.dumps(patient_bundle(patient), ensure_ascii=False)
    audit_patient_export(patient, g.api_user)
    db.session.commit()
    return Response(body, mimetype=FHIR_JSON)


@bp.route("/me/fhir", methods=["GET"])
@token_required(Role.PATIENT)
@bp.doc(operationId="getMyFhirRecord", responses=BUNDLE_DOC)
def my_fhir_record():
    """The patient's own record as a FHIR R4 Bundle (application/fhir+json), as the FHIR download gives it."""
    return _bundle_response(g.api_user)


@bp.route("/coach/patients/<int:patient_id>/fhir", methods=["GET"])
@token_required(Role.COACH)
@bp.doc(operationId="getPatientFhirRecord", responses=BUNDLE_DOC)
def patient_fhir_record(patient_id: int):
    """A patient's record as a FHIR R4 Bundle; only a patient on the coach's roster (404 otherwise)."""
    return _bundle_response(patient_for_coach_or_404(patient_id, g.api_user))
