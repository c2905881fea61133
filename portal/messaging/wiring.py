"""The messaging package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.jobs import register_job
from portal.messaging import services, views
from portal.messaging.blueprint import bp
from portal.messaging.cli import reminders_group
from portal.messaging.reminders import send_all_reminders
from portal.navigation import register_badge

VIEW_MODULES = (views,)  # each adds its routes to ``bp``


def init_app(app: Flask) -> None:
    """The message pages under /messages, the unread badge and `flask reminders`."""
    app.register_blueprint(bp, url_prefix="/messages")
    register_badge(app, "unread_messages", services.unread_count_statement)
    app.cli.add_command(reminders_group)
    register_job(
        app,
        "reminders",
        send_all_reminders,
        seconds=app.config["REMINDERS_SECONDS"],
        description="check-in and plan reminders (as `flask reminders send`)",
    )
