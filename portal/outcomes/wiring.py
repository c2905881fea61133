"""The outcomes package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.outcomes import views
from portal.outcomes.blueprint import bp

VIEW_MODULES = (views,)  # each adds its routes to ``bp``


def init_app(app: Flask) -> None:
    """The Outcomes page and its downloads under /outcomes."""
    app.register_blueprint(bp, url_prefix="/outcomes")
