"""Outgoing email over SMTP, with a queue so a failing server never breaks a page.

Every message is stored in ``outbound_email`` first and sent after the caller's
commit; what cannot be delivered stays queued and ``flask mail retry`` (cron)
sends it later. Emails never carry health data: callers pass only generic text.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import Flask, Response, after_this_request, current_app
from sqlalchemy import Index, String, Text, update
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.jobs import register_job
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)  # longer than any SMTP conversation


class OutboundEmail(db.Model):
    """Mail waiting to go out; a failed send stays queued and is retried later."""

    __tablename__ = "outbound_email"
    __table_args__ = (Index("ix_outbound_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(300), default="")


def init_app(app: Flask) -> None:
    """The outbox's delivery, as a job of the worker (`flask worker`): every OUTBOX_SECONDS it sends what is due."""
    register_job(
        app,
        "outbox",
        deliver_due,
        seconds=app.config["OUTBOX_SECONDS"],
        description="send queued emails that are due (new ones, and retries of failed ones)",
    )


def deliver_due() -> tuple[int, int]:
    """One round of the outbox job: send what is due; (sent, failed)."""
    return retry_pending()


def queue_email(to: str, subject: str, body: str) -> OutboundEmail:
    """Add an email to the outbox in the caller's transaction."""
    mail = OutboundEmail(to_address=to, subject=subject[:200], body=body)
    db.session.add(mail)
    return mail


def send_email_now(to: str, subject: str, body: str) -> None:
    """Queue an email, commit, and try to deliver it at once (errors are logged)."""
    mail = queue_email(to, subject, body)
    db.session.commit()
    deliver(mail)


def deliver_after_response(*emails: OutboundEmail | None) -> None:
    """Send committed emails once the response has gone out, not inside the request.

    The response does not wait for the SMTP conversation, so a page that emails
    someone takes as long as one that does not (the forgotten-password page must
    not tell which emails have an account). Call it on every path, with or
    without emails. What cannot be sent stays queued for `flask mail retry`.
    """
    ids = [email.id for email in emails if email is not None]
    app = current_app._get_current_object()

    @after_this_request
    def _send_on_close(response: Response) -> Response:
        # call_on_close runs after the WSGI server has written the whole body.
        response.call_on_close(lambda: deliver_queued(app, ids))
        return response


def deliver_queued(app: Flask, ids: list[int]) -> None:
    """Deliver these outbox rows in a fresh app context (the request's one is gone). Never raises."""
    if not ids:
        return
    with app.app_context():
        try:
            for mail in db.session.scalars(db.select(OutboundEmail).where(OutboundEmail.id.in_(ids))):
                # The lease keeps a concurrent `flask mail retry` from sending the same email twice.
                if mail.sent_at is None and _lease(mail):
                    deliver(mail)
        except Exception:  # noqa: BLE001 - the response is already sent; the outbox keeps the email
            log.exception("Sending queued emails after the response failed; they stay queued")
        finally:
            db.session.remove()


def deliver(mail: OutboundEmail) -> bool:
    """Try to send one queued email; record the outcome. Never raises."""
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        if cfg.get("ENV_NAME") == "production":
            log.warning("MAIL_SERVER is not set; email %s stays queued", mail.id)
            return False
        if _may_log_bodies(cfg):
            # Local development (`make run`): print the mail so a developer can follow its link.
            log.info("Email (no MAIL_SERVER set) to %s: %s\n%s", mail.to_address, mail.subject, mail.body)
        else:
            # Bodies hold one-time links (secrets): never in logs unless a developer opts in.
            log.info("Email %s not sent: no MAIL_SERVER set (MAIL_LOG_BODIES=1 prints it in development)", mail.id)
        mail.sent_at = utcnow()
        db.session.commit()
        return True
    try:
        _smtp_send(mail)
    except (OSError, smtplib.SMTPException) as exc:
        mail.attempts += 1
        # Back off: 1, 2, 4 ... minutes between tries.
        mail.next_attempt_at = utcnow() + timedelta(minutes=2 ** min(mail.attempts - 1, 10))
        mail.last_error = type(exc).__name__
        db.session.commit()
        log.warning("Email %s not sent (attempt %s): %s", mail.id, mail.attempts, type(exc).__name__)
        return False
    mail.sent_at = utcnow()
    mail.attempts += 1
    db.session.commit()
    return True


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


def retry_pending(limit: int = 200) -> tuple[int, int]:
    """Send queued emails that are due; returns (sent, failed).

    Each email is leased before it is sent, so two machines running this at once
    never send the same one. The first failure ends the run: the server is most
    likely down, and the rest would each wait MAIL_TIMEOUT for nothing.
    """
    due = db.session.scalars(
        db.select(OutboundEmail)
        .where(
            OutboundEmail.sent_at.is_(None),
            OutboundEmail.next_attempt_at <= utcnow(),
            OutboundEmail.attempts < MAX_ATTEMPTS,
        )
        .order_by(OutboundEmail.id)
        .limit(limit)
    ).all()
    sent = failed = 0
    for mail in due:
        if not _lease(mail):
            continue  # another worker has it
        if deliver(mail):
            sent += 1
        else:
            failed += 1
            break
    return sent, failed


def _lease(mail: OutboundEmail) -> bool:
    """Claim a due email for this worker for a few minutes (an atomic conditional UPDATE)."""
    now = utcnow()
    result = db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == mail.id, OutboundEmail.sent_at.is_(None), OutboundEmail.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _smtp_send(mail: OutboundEmail) -> None:
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_DEFAULT_SENDER"]
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        smtp.send_message(message)
