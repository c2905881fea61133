"""Outgoing email over SMTP: the outbox's "email" channel (see portal.outbox).

Every email is a row of the outbox stored in the caller's transaction and sent after the caller's commit
(right after the response, or by the worker's ``outbox`` job); what cannot be delivered stays queued and is
retried with backoff (``flask mail retry`` runs a round by hand). Emails never carry health data: callers
pass only generic text.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy.orm import synonym

from portal import outbox
from portal.extensions import db
from portal.outbox import Channel, OutboundMessage, register_channel

log = logging.getLogger(__name__)
MAX_ATTEMPTS = outbox.MAX_ATTEMPTS
LEASE = timedelta(minutes=5)  # longer than any SMTP conversation


class OutboundEmail(OutboundMessage):
    """An email in the outbox (channel "email"): ``to_address`` is the recipient, ``subject`` the subject."""

    __mapper_args__ = {"polymorphic_identity": "email"}

    to_address = synonym("recipient")


def init_app(app: Flask) -> None:
    """The outbox and its worker job, and email as its first channel."""
    outbox.init_app(app)
    register_channel(app, Channel("email", send=_send, ready=_ready, lease=LEASE))


def queue_email(to: str, subject: str, body: str) -> OutboundEmail:
    """Add an email to the outbox in the caller's transaction."""
    mail = OutboundEmail(to_address=to, subject=subject[:200], body=body)
    db.session.add(mail)
    return mail


def send_email_now(to: str, subject: str, body: str) -> None:
    """Queue an email, commit, and try to deliver it at once (errors are logged)."""
    mail = queue_email(to, subject, body)
    db.session.commit()
    outbox.send_now(mail)


def deliver(mail: OutboundEmail) -> bool:
    """Claim and try to send one committed email now; False when it was not sent (it stays queued). Never raises."""
    return outbox.send_now(mail)


def retry_pending(limit: int = 200) -> tuple[int, int]:
    """Send queued messages that are due (every channel; `flask mail retry`); returns (sent, failed)."""
    return outbox.deliver_due(limit)


def _ready() -> bool:
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER") and cfg.get("ENV_NAME") == "production":
        log.warning("MAIL_SERVER is not set; emails stay queued")
        return False
    return True


def _send(mail: OutboundMessage) -> None:
    cfg = current_app.config
    if cfg.get("MAIL_SERVER"):
        _smtp_send(mail)
    elif _may_log_bodies(cfg):
        # Local development (`make run`): print the mail so a developer can follow its link.
        log.info("Email (no MAIL_SERVER set) to %s: %s\n%s", mail.recipient, mail.subject, mail.body)
    else:
        # Bodies hold one-time links (secrets): never in logs unless a developer opts in.
        log.info("Email %s not sent: no MAIL_SERVER set (MAIL_LOG_BODIES=1 prints it in development)", mail.id)


def _may_log_bodies(cfg) -> bool:
    """Only an explicit opt-in outside production and testing (MAIL_LOG_BODIES=1, set by `make run`)."""
    if cfg.get("ENV_NAME") in ("production", "testing"):
        return False
    flag = cfg.get("MAIL_LOG_BODIES", os.environ.get("MAIL_LOG_BODIES", ""))
    return str(flag).strip().lower() in ("1", "true", "yes", "on")


def public_url(endpoint: str, **values) -> str:
    """An absolute link for an email, always on PUBLIC_BASE_URL.

    Never built from the request's Host header: whoever triggers an email
    (a message, a reminder) must not be able to choose where its link points.
    Works without a request too (cron jobs).
    """
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"].rstrip("/"))
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


def _smtp_send(mail: OutboundMessage) -> None:
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_DEFAULT_SENDER"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        smtp.send_message(message)
