"""The coaching package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.care.alerts import open_alert_badge
from portal.coaching import alert_views, plan_views, program_views, roster_views
from portal.coaching.blueprint import bp
from portal.navigation import register_badge

VIEW_MODULES = (roster_views, plan_views, program_views, alert_views)  # each adds its routes to ``bp``


def init_app(app: Flask) -> None:
    """The coach's pages under /coach and the open-alerts badge."""
    app.register_blueprint(bp, url_prefix="/coach")
    register_badge(app, "open_alerts", open_alert_badge)
