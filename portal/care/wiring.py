"""The care package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.care.cli import alerts_group, seed_consent_command


def init_app(app: Flask) -> None:
    """The care rules' commands (`flask alerts`, `flask seed-consent`); the care core has no pages of its own."""
    app.cli.add_command(alerts_group)
    app.cli.add_command(seed_consent_command)
