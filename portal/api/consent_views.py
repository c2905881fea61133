"""The patient's consent through the API: what to agree to, and agreeing (the services of "Before we start").

Every other patient route answers 403 with ``code: consent_required`` until both documents
of the clinic's newest version are agreed to (portal.api.blueprint.token_required).
"""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from marshmallow import Schema, fields

from portal.api.blueprint import bp, problem, token_required
from portal.api.problems import problems
from portal.api.schemas import StrictBoolean, UtcDateTime
from portal.auth.models import Role
from portal.care.consent import (
    ConsentVersionChanged,
    NoConsentTexts,
    consent_state,
    give_consent,
    latest_consents,
    texts_for,
)
from portal.extensions import db
from portal.i18n import current_language


class ConsentDocumentSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "agreement or privacy"})
    title = fields.String(required=True)
    checkbox = fields.String(required=True, metadata={"description": "the words the patient agrees to"})
    language = fields.String(required=True)
    text = fields.String(required=True)


class GivenConsentSchema(Schema):
    kind = fields.String(required=True)
    version = fields.Integer(required=True)
    language = fields.String(required=True)
    given_at = UtcDateTime(required=True)


class ConsentStatusSchema(Schema):
    required = fields.Boolean(required=True, metadata={"description": "true until the newest texts are agreed to"})
    version = fields.Integer(allow_none=True, required=True)
    documents = fields.List(fields.Nested(ConsentDocumentSchema), required=True)
    given = fields.List(fields.Nested(GivenConsentSchema), required=True)


class ConsentInputSchema(Schema):
    version = fields.Integer(strict=True, required=True, metadata={"description": "the version that was shown"})
    agreement = StrictBoolean(required=True, metadata={"description": "I agree to the coaching agreement"})
    privacy = StrictBoolean(required=True, metadata={"description": "I have read the privacy notice"})


def _status(patient) -> dict:
    state = consent_state(patient)
    try:
        version, texts = texts_for(patient.clinic_id, current_language())
    except NoConsentTexts:
        version, texts = None, []
    return {
        "required": state.required,
        "version": version,
        "documents": [
            {"kind": t.kind, "title": t.title, "checkbox": t.checkbox, "language": t.locale, "text": t.body}
            for t in texts
        ],
        "given": [
            {"kind": c.kind, "version": c.version, "language": c.language, "given_at": c.given_at}
            for c in latest_consents(patient).values()
        ],
    }


@bp.route("/me/consent", methods=["GET"])
@token_required(Role.PATIENT)
@bp.response(200, ConsentStatusSchema)
def consent_status():
    """Whether consent is needed, and the clinic's newest coaching agreement and privacy notice in full."""
    return _status(g.api_user)


@bp.route("/me/consent", methods=["POST"])
@token_required(Role.PATIENT)
@problems("consent_version_changed", "consent_texts_missing")
@bp.arguments(ConsentInputSchema)
@bp.response(200, ConsentStatusSchema)
def give_consent_route(values: dict):
    """Agree to both documents of the version shown. A newer version published meanwhile answers 409."""
    patient = g.api_user
    refused = [
        {"field": name, "location": "json", "message": _("Please agree to continue")}
        for name in ("agreement", "privacy")
        if values[name] is not True
    ]
    if refused:
        return problem(422, _("Some fields were not right."), errors=refused, code="validation_failed")
    try:
        give_consent(patient, values["version"], current_language(), request.remote_addr or "")
    except ConsentVersionChanged:
        db.session.rollback()
        return problem(
            409,
            _("These texts were updated while the page was open. Please read the new version and agree again."),
            code="consent_version_changed",
        )
    except NoConsentTexts:
        db.session.rollback()
        return problem(
            409,
            _("Your clinic has not published its coaching agreement and privacy notice yet."),
            code="consent_texts_missing",
        )
    db.session.commit()
    return _status(patient)
