"""The exercises package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.exercises import sheet_views, translations, views
from portal.exercises.blueprint import bp
from portal.exercises.cli import library_group

VIEW_MODULES = (views, sheet_views)  # each adds its routes (and template globals and filters) to ``bp``


def init_app(app: Flask) -> None:
    """The library pages under /library, their template helpers, `flask library`, and the upkeep of its kept texts."""
    app.register_blueprint(bp, url_prefix="/library")
    app.cli.add_command(library_group)
    translations.init_app(app)
