"""`flask alerts scan`: open missed-check-in alerts (cron, e.g. hourly); `flask seed-consent`: starter consent texts."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal.care.alerts import scan_missed_checkins
from portal.care.consent import seed_starter_texts
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


@click.command("seed-consent")
@with_appcontext
def seed_consent_command() -> None:
    """Publish the starter coaching agreement and privacy notice for every clinic that has none (idempotent)."""
    seeded = seed_starter_texts()
    db.session.commit()
    if seeded:
        click.echo("Published the starter consent texts (version 1) for: " + ", ".join(c.name for c in seeded) + ".")
    else:
        click.echo("Every clinic already has consent texts; nothing changed.")
