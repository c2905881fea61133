"""The care package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.care.alerts import scan_missed_checkins
from portal.care.cli import alerts_group, seed_consent_command
from portal.care.escalation import escalate_due_alerts
from portal.extensions import db
from portal.jobs import register_job


def init_app(app: Flask) -> None:
    """The care rules' commands (`flask alerts`, `flask seed-consent`) and their jobs in the worker; the care core
    has no pages of its own."""
    app.cli.add_command(alerts_group)
    app.cli.add_command(seed_consent_command)
    register_job(
        app,
        "missed_checkins",
        scan_and_commit,
        seconds=app.config["ALERTS_SCAN_SECONDS"],
        description="open missed-check-in alerts (as `flask alerts scan`)",
    )
    register_job(
        app,
        "safety_escalation",
        escalate_and_commit,
        seconds=app.config["ESCALATION_CHECK_SECONDS"],
        description="escalate red-flag alerts nobody acknowledged in time",
    )


def scan_and_commit() -> None:
    """One round of the missed-check-in scan in the worker."""
    scan_missed_checkins()
    db.session.commit()


def escalate_and_commit() -> None:
    """One round of escalation in the worker: the claims and their emails are committed together."""
    escalate_due_alerts()
    db.session.commit()
