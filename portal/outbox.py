"""One outbox for every channel (email, text, push): one table, one delivery loop, claims and backoff defined once.

A message is a row of ``outbound_message`` stored in the caller's transaction, so it exists exactly when what
caused it was committed. It is sent right after the response (``deliver_after_response``), or at once outside a
request (``send_now``), and in any case by the worker's ``outbox`` job, which retries failures with backoff.
Before any send the row is claimed with an atomic conditional UPDATE (a lease): two workers, or a worker and a
web server, never send one row twice.

A channel is a sender registered on the app (``register_channel`` from a package's ``init_app``), and a model
subclass of ``OutboundMessage`` with its name as ``polymorphic_identity`` (single-table inheritance, no columns
of its own). Bodies are generic text and a link: never a symptom, a score or an item name, and never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import Flask, Response, after_this_request, current_app
from sqlalchemy import Index, String, Text, update
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.jobs import register_job
from portal.state import portal_state
from portal.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
DEFAULT_LEASE = timedelta(minutes=2)


class Undeliverable(Exception):  # noqa: N818 - reads as what it says about the message
    """Raised by a channel's ``send`` when the message can never be delivered (a push subscription the service
    says is gone): the row is given up at once instead of retried."""


@dataclass(frozen=True)
class Channel:
    """A way out of the outbox.

    ``send(message)`` delivers one row or raises (``Undeliverable``: give up; anything else: retry later).
    ``ready()`` is False while the channel is not configured: its rows wait, no attempt counted.
    ``lease`` is how long a claim holds: longer than one send can take.
    ``reminder_recipients(patient_ids)`` (optional) makes the channel carry reminders: for the patients among
    these who have the channel on, patient id -> recipients (the ``recipient`` values to queue), one query.
    """

    name: str
    send: Callable[[OutboundMessage], None]
    ready: Callable[[], bool] = lambda: True
    lease: timedelta = DEFAULT_LEASE
    reminder_recipients: Callable[[list[int]], dict[int, list[str]]] | None = None


class OutboundMessage(db.Model):
    """A message waiting to go out on its channel; a failed send stays queued and is retried with backoff."""

    __tablename__ = "outbound_message"
    __table_args__ = (Index("ix_outbound_message_pending", "sent_at", "next_attempt_at"),)
    __mapper_args__ = {"polymorphic_on": "channel"}

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    # An email address, an E.164 number, or what the push channel names a subscription by.
    recipient: Mapped[str] = mapped_column(String(2048))
    subject: Mapped[str] = mapped_column(String(200), default="")  # an email's subject, a notification's title
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500), default="")  # what a notification opens
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(300), default="")


def init_app(app: Flask) -> None:
    """The worker's one outbox job: every OUTBOX_SECONDS it sends what is due on every registered channel."""
    register_job(
        app,
        "outbox",
        deliver_due,
        seconds=app.config["OUTBOX_SECONDS"],
        description="send queued emails, texts and notifications that are due (new ones, and retries)",
    )


def register_channel(app: Flask, channel: Channel) -> Channel:
    """Add a channel to the app's outbox (from a package's ``init_app``). A name is registered once."""
    channels = portal_state(app).channels
    if channel.name in channels:
        raise ValueError(f"a channel named {channel.name!r} is already registered")
    channels[channel.name] = channel
    return channel


def carry_reminders(app: Flask, name: str, recipients: Callable[[list[int]], dict[int, list[str]]]) -> Channel:
    """Let a registered channel carry reminders (a package above the channel's own knows who has it on: the
    email channel is registered by portal.mail, its reminder recipients come from the users' preferences)."""
    state = portal_state(app).channels
    state[name] = replace(state[name], reminder_recipients=recipients)
    return state[name]


def channels(app: Flask | None = None) -> dict[str, Channel]:
    """The app's channels by name, in the order they were registered."""
    return portal_state(app).channels


def message_class(channel: str) -> type[OutboundMessage]:
    """The model of a channel's rows (its ``polymorphic_identity``)."""
    return OutboundMessage.__mapper__.polymorphic_map[channel].class_


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: 1, 2, 4 ... minutes, at most about 17 hours."""
    return timedelta(minutes=2 ** min(max(attempts, 1) - 1, 10))


def claim(message_id: int, lease: timedelta = DEFAULT_LEASE) -> bool:
    """Claim a due row for this process for ``lease`` (an atomic conditional UPDATE); False if another has it
    or it is sent. Commits."""
    now = utcnow()
    result = db.session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.id == message_id,
            OutboundMessage.sent_at.is_(None),
            OutboundMessage.next_attempt_at <= now,
            OutboundMessage.attempts < MAX_ATTEMPTS,
        )
        .values(next_attempt_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver(message: OutboundMessage) -> bool:
    """Send one claimed row on its channel and record the outcome (commits). Never raises."""
    channel = channels().get(message.channel)
    if channel is None or not channel.ready():
        log.warning("The %s channel is not configured; message %s stays queued", message.channel, message.id)
        return False
    try:
        channel.send(message)
    except Undeliverable as exc:
        message.attempts = MAX_ATTEMPTS
        message.last_error = f"Undeliverable: {exc}"[:300]
        db.session.commit()
        log.info("%s message %s cannot be delivered; given up", message.channel, message.id)
        return True  # not the channel failing: the round goes on
    except Exception as exc:  # noqa: BLE001 - whatever the sender raised, the message stays queued
        db.session.rollback()
        message.attempts += 1
        message.next_attempt_at = utcnow() + backoff(message.attempts)
        message.last_error = type(exc).__name__
        db.session.commit()
        log.warning(
            "%s message %s not sent (attempt %s): %s", message.channel, message.id, message.attempts, type(exc).__name__
        )
        return False
    message.sent_at = utcnow()
    message.attempts += 1
    db.session.commit()
    return True


def send_now(message: OutboundMessage) -> bool:
    """Claim and send one committed row at once (outside the worker); False when not sent now."""
    channel = channels().get(message.channel)
    if not claim(message.id, channel.lease if channel else DEFAULT_LEASE):
        return False
    db.session.refresh(message)
    return deliver(message)


def deliver_due(limit: int = 200) -> tuple[int, int]:
    """One round of the outbox job: send due rows of every registered channel, each claimed first; (sent, failed).

    A channel's first failure ends its part of the round (its server is most likely down, and each further try
    would wait out a timeout for nothing); the other channels go on."""
    registered = channels()
    if not registered:
        return 0, 0
    due = db.session.execute(
        db.select(OutboundMessage.id, OutboundMessage.channel)
        .where(
            OutboundMessage.sent_at.is_(None),
            OutboundMessage.next_attempt_at <= utcnow(),
            OutboundMessage.attempts < MAX_ATTEMPTS,
            OutboundMessage.channel.in_(list(registered)),
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
    ).all()
    sent = failed = 0
    failing: set[str] = set()
    for message_id, channel in due:
        if channel in failing or not claim(message_id, registered[channel].lease):
            continue  # its channel is down this round, or another worker has it
        message = db.session.get(OutboundMessage, message_id)
        db.session.refresh(message)
        if deliver(message):
            sent += 1
        else:
            failed += 1
            failing.add(channel)
    return sent, failed


def deliver_after_response(*messages: OutboundMessage | None) -> None:
    """Send committed rows once the response has gone out, not inside the request.

    The response does not wait for an SMTP conversation or a provider's API, so a page that sends something
    takes as long as one that does not (the forgotten-password page must not tell which emails have an
    account). Call it on every path, with or without messages. What cannot be sent stays queued for the worker.
    """
    ids = [message.id for message in messages if message is not None]
    app = current_app._get_current_object()

    @after_this_request
    def _send_on_close(response: Response) -> Response:
        # call_on_close runs after the WSGI server has written the whole body.
        response.call_on_close(lambda: deliver_queued(app, ids))
        return response


def deliver_queued(app: Flask, ids: list[int]) -> None:
    """Claim and send these rows in a fresh app context (the request's one is gone). Never raises."""
    if not ids:
        return
    with app.app_context():
        try:
            for message_id in ids:
                message = db.session.get(OutboundMessage, message_id)
                if message is not None and message.sent_at is None:
                    send_now(message)
        except Exception:  # noqa: BLE001 - the response is already sent; the outbox keeps the rows
            log.exception("Sending queued messages after the response failed; they stay queued")
        finally:
            db.session.remove()
