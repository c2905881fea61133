"""The admin package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.admin import consent_views, safety_views, views
from portal.admin.blueprint import bp
from portal.navigation import register_badge

VIEW_MODULES = (views, consent_views, safety_views)  # each adds its routes to ``bp``


def init_app(app: Flask) -> None:
    """The admin pages under /admin, and the "Safety" badge (escalated alerts nobody has acknowledged)."""
    app.register_blueprint(bp, url_prefix="/admin")
    register_badge(app, "escalated_alerts", safety_views.escalated_badge)
