"""The api package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.api import auth_views, coach_views, consent_views, fhir_views, intake_views, patient_views
from portal.api.blueprint import register_api
from portal.api.reference import reference_bp

VIEW_MODULES = (
    auth_views,
    coach_views,
    consent_views,
    fhir_views,
    intake_views,
    patient_views,
)  # each adds its operations to the API's blueprint


def init_app(app: Flask) -> None:
    """The API with its OpenAPI document, and its readable reference page."""
    register_api(app)
    app.register_blueprint(reference_bp)
