"""The fhir package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.fhir.cli import fhir_group
from portal.fhir.views import bp


def init_app(app: Flask) -> None:
    """The FHIR downloads (their routes carry their own prefixes) and `flask fhir`."""
    app.register_blueprint(bp)
    app.cli.add_command(fhir_group)
