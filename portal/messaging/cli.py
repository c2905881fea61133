"""`flask reminders send`: the daily check-in reminders (cron, every 15 minutes)."""

from __future__ import annotations

import logging

import click
from flask.cli import with_appcontext

from portal.messaging.reminders import send_reminders

log = logging.getLogger(__name__)


@click.group("reminders")
def reminders_group() -> None:
    """Daily check-in reminders by email."""


@reminders_group.command("send")
@with_appcontext
def reminders_send() -> None:
    """Email patients whose reminder time has passed today and who have not checked in.

    Safe to run as often as you like, and from several machines: each patient
    gets at most one reminder per local day.
    """
    sent = send_reminders()
    log.info("flask reminders send: %d reminder(s) sent", sent)
    click.echo(f"Sent {sent} reminder(s).")
