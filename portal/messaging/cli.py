"""`flask reminders send`: the daily check-in reminders and the plan reminders (cron, every 15 minutes)."""

from __future__ import annotations

import logging

import click
from flask.cli import with_appcontext

from portal.messaging.reminders import send_all_reminders

log = logging.getLogger(__name__)


@click.group("reminders")
def reminders_group() -> None:
    """Daily check-in reminders by email."""


@reminders_group.command("send")
@with_appcontext
def reminders_send() -> None:
    """Email patients whose reminder time has passed today and who have not checked in, and
    those who asked for plan reminders when one of their times of day has passed.

    Safe to run as often as you like, and from several machines: each patient gets at most
    one check-in reminder per local day and one plan reminder per time of day.
    """
    sent = send_all_reminders()
    log.info("flask reminders send: %d reminder(s) sent", sent)
    click.echo(f"Sent {sent} reminder(s).")
