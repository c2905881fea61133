"""The admin package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.admin import views
from portal.admin.blueprint import bp

VIEW_MODULES = (views,)  # each adds its routes to ``bp``


def init_app(app: Flask) -> None:
    """The admin pages under /admin."""
    app.register_blueprint(bp, url_prefix="/admin")
