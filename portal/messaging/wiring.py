"""The messaging package's part in the app: ``init_app(app)`` registers what it serves."""

from __future__ import annotations

from flask import Flask

from portal.extensions import csrf
from portal.jobs import register_job
from portal.messaging import reminders, services, texts, views
from portal.messaging.blueprint import bp
from portal.messaging.cli import reminders_group
from portal.messaging.push_views import push_bp
from portal.messaging.reminders import send_all_reminders
from portal.messaging.text_views import inbound, texts_bp
from portal.navigation import register_badge
from portal.outbox import Channel, carry_reminders, register_channel

VIEW_MODULES = (views,)  # each adds its routes to ``bp``


def init_app(app: Flask) -> None:
    """The message pages under /messages, text reminders (/me/texts, /sms/inbound), phone notifications (/sw.js,
    /push/public-key, /me/push-subscriptions), the unread badge, `flask reminders`, the worker's reminder job and
    the outbox's text channel."""
    app.register_blueprint(bp, url_prefix="/messages")
    app.register_blueprint(texts_bp)
    app.register_blueprint(push_bp)
    csrf.exempt(inbound)  # the provider signs its requests (X-Twilio-Signature) instead
    register_badge(app, "unread_messages", services.unread_count_statement)
    app.cli.add_command(reminders_group)
    register_job(
        app,
        "reminders",
        send_all_reminders,
        seconds=app.config["REMINDERS_SECONDS"],
        description="check-in and plan reminders (as `flask reminders send`)",
    )
    register_channel(
        app,
        Channel(
            "text",
            send=texts.send_text,
            ready=texts.configured,
            lease=texts.LEASE,
            reminder_recipients=texts.reminder_recipients,
        ),
    )
    carry_reminders(app, "email", reminders.email_reminder_recipients)
