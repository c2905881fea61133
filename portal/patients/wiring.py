"""The patients package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask
from flask_login import user_logged_in

from portal.care.plans import patient_plan_item
from portal.exercises.views import register_plan_item_lookup
from portal.patients import (
    calendar_views,
    checkin_views,
    consent_views,
    goal_views,
    intake_views,
    progress_views,
    session_views,
    views,
)
from portal.patients.blueprint import bp
from portal.patients.consent_views import remember_consent_at_sign_in

VIEW_MODULES = (
    views,
    calendar_views,
    checkin_views,
    consent_views,
    goal_views,
    intake_views,
    progress_views,
    session_views,
)  # each adds routes to ``bp``


def init_app(app: Flask) -> None:
    """The patient's pages under /me; the library's item page shows a patient their own dose."""
    app.register_blueprint(bp, url_prefix="/me")
    register_plan_item_lookup(app, patient_plan_item)
    user_logged_in.connect(remember_consent_at_sign_in, app)
