"""`flask alerts scan`: open missed-check-in alerts (cron, e.g. hourly)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal.care.alerts import scan_missed_checkins
from portal.extensions import db


@click.group("alerts")
def alerts_group() -> None:
    """Coach alerts."""


@alerts_group.command("scan")
@with_appcontext
def scan_command() -> None:
    """Open missed-check-in alerts (run from cron, e.g. hourly; safe to repeat)."""
    result = scan_missed_checkins()
    db.session.commit()
    click.echo(f"Checked {result.checked} patient(s) with an active plan; opened {result.opened} alert(s).")
