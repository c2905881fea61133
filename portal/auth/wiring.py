"""The auth package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.auth import twofactor_views, views
from portal.auth.blueprint import bp

VIEW_MODULES = (views, twofactor_views)  # each adds its routes to ``bp``


def init_app(app: Flask) -> None:
    """Sign-in, account and two-step pages, at the site's root."""
    app.register_blueprint(bp)
