"""Web push: the browsers' push subscriptions, the portal's VAPID key and the sender (pywebpush).

A subscription is the JSON of the browser's ``PushSubscription.toJSON()``: an endpoint URL of the browser's push
service and two keys. Sending encrypts the payload for that browser (``aes128gcm``, RFC 8188/8291) and signs the
request with the portal's VAPID key (RFC 8292), so only the browser reads it and only the portal may send to it.

The endpoint is a URL the server POSTs to, chosen by whoever holds an account: it must be ``https://`` on a public
address. The host is resolved and every address checked (no private, loopback, link-local, shared or reserved
range), the connection goes to the checked address itself (a second DNS answer cannot swap it) and redirects are
never followed. ``PUSH_ALLOW_LOCAL_ENDPOINTS=1`` (development and tests only) allows ``http://`` and local
addresses, for a push service running on this machine.

Payloads are generic: a title, a text and a link, never a symptom, a score or an item name.

The sender's libraries (pywebpush, which brings aiohttp, requests and urllib3, and py_vapid) are imported by the
functions that send: only the outbox worker sends, and in each web server process they would cost ~15 MB.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, current_app
from sqlalchemy import ForeignKey, String, bindparam, delete, update
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import b64url, b64url_decode, new_vapid_key, parse_vapid_key, vapid_public_key
from portal.extensions import db
from portal.outbox import Channel, OutboundMessage, Undeliverable, register_channel
from portal.sqlutil import KeptStatement
from portal.state import portal_state
from portal.timeutil import utcnow

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

MAX_ENDPOINT_LENGTH = 2048
MAX_RESPONSE_BYTES = 64 * 1024  # a push service answers with a few bytes; never read more
# How long the push service keeps a notification for a phone that is off: a reminder a day late is no reminder.
DEFAULT_TTL = 12 * 3600
# Browsers one user keeps at once: a person has a few devices, and every notification goes to each, so an account
# cannot make the portal post to a long list of addresses of its choosing. A new one beyond it replaces the oldest.
MAX_DEVICES = 10
VAPID_KEY_FILE = "vapid_private_key.txt"


class PushSubscription(db.Model):
    """One browser (phone or computer) that agreed to receive the portal's notifications for a user."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    # The sign-in (server-side session) it was turned on in: signing out of it, or being signed out of it (sign out
    # everywhere, a password change, a deactivated account), turns it off, so a shared phone stops getting the
    # person's notifications once they leave. None once that session ran out of time: nobody signed out, so the
    # browser keeps its reminders (which is what they are for) until it is turned off or signs out again.
    session_id: Mapped[int | None] = mapped_column(ForeignKey("user_session.id", ondelete="SET NULL"), index=True)
    # One row per browser: the endpoint names it (a second sign-in on the same browser takes it over).
    endpoint: Mapped[str] = mapped_column(String(MAX_ENDPOINT_LENGTH), unique=True)
    p256dh: Mapped[str] = mapped_column(String(100))  # the browser's P-256 public key, base64url
    auth: Mapped[str] = mapped_column(String(40))  # its 16-byte authentication secret, base64url
    device: Mapped[str] = mapped_column(String(120), default="")  # "Chrome Mobile 131 · Android 14"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sent_at: Mapped[datetime | None]

    def info(self) -> dict:
        """The subscription as pywebpush takes it (the browser's toJSON())."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


# Web Push urgencies (RFC 8030 section 5.3): how hard the phone tries to deliver at once. "high" wakes a phone
# that saves its battery (an urgent alert for a coach); "normal" is a reminder at the time the patient chose.
URGENCIES = ("very-low", "low", "normal", "high")


class OutboundPush(OutboundMessage):
    """A notification in the outbox: ``recipient`` is the subscription's id, ``subject`` the title, ``link`` the
    page it opens. One row per browser, so a phone that is gone does not hold back the others.

    ``body`` is the stored payload, JSON: the notification's text and the urgency it goes out with (a channel adds
    no columns to the outbox). Made with ``body=`` the text and ``urgency=``, as every channel's row is made.
    """

    __mapper_args__ = {"polymorphic_identity": "push"}

    def __init__(self, *, body: str = "", urgency: str = "normal", **fields) -> None:
        if urgency not in URGENCIES:
            raise ValueError(f"unknown push urgency {urgency!r}")
        super().__init__(body=json.dumps({"text": body, "urgency": urgency}, ensure_ascii=False), **fields)

    def _stored(self) -> dict:
        try:
            stored = json.loads(self.body)
        except ValueError:
            stored = None
        # A row queued before the payload was stored as JSON holds the bare text.
        return stored if isinstance(stored, dict) and isinstance(stored.get("text"), str) else {"text": self.body}

    @property
    def text(self) -> str:
        return self._stored()["text"]

    @property
    def urgency(self) -> str:
        urgency = self._stored().get("urgency")
        return urgency if urgency in URGENCIES else "normal"


class PushError(ValueError):
    """A subscription or endpoint that cannot be used; ``str()`` is the message for the person."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class EndpointRefused(PushError):
    """The endpoint is not https:// on a public address (or cannot be resolved)."""


class SubscriptionGone(Exception):
    """The push service answered 404 or 410: the browser dropped the subscription (it was deleted here)."""


class PushFailed(Exception):
    """The push service did not accept the notification; ``retry`` tells whether trying later may help."""

    def __init__(self, status: int | None, retry: bool) -> None:
        super().__init__(f"push service answered {status}" if status else "push service not reached")
        self.status = status
        self.retry = retry


# --- the VAPID key ---------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """The app's VAPID key: VAPID_PRIVATE_KEY, or in development generate one into instance/ (kept across restarts), or in tests
    make one for this app. Production refuses to start without one (config.ProductionConfig.validate)."""
    value = app.config.get("VAPID_PRIVATE_KEY") or ""
    env = app.config.get("ENV_NAME")
    if not value and env == "testing":
        value = new_vapid_key()
    elif not value and env != "production":
        path = Path(app.instance_path) / VAPID_KEY_FILE
        if path.exists():
            value = path.read_text().strip()
        else:
            value = new_vapid_key()
            # A fresh clone has no instance/ folder when the database is not an SQLite file there.
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(value + "\n")
            log.info("Generated a development VAPID key in %s", path)
    try:
        key = parse_vapid_key(value)
    except ValueError as error:
        raise RuntimeError(
            "VAPID_PRIVATE_KEY is not a P-256 private key (make one with `flask keys vapid`)."
        ) from error
    portal_state(app).push_key = key
    register_channel(
        app,
        Channel(
            name="push",
            send=deliver,
            # Longer than one send can take (the push service's timeout, and the encryption before it).
            lease=timedelta(seconds=2 * app.config.get("PUSH_TIMEOUT", 10) + 30),
            reminder_recipients=reminder_recipients,
        ),
    )


def application_server_key(app: Flask | None = None) -> str:
    return vapid_public_key(portal_state(app).push_key)


# --- subscriptions from the browser ----------------------------------------------------


@dataclass(frozen=True)
class SubscriptionInfo:
    endpoint: str
    p256dh: str
    auth: str


def parse_subscription(data: object, *, allow_local: bool) -> SubscriptionInfo:
    """Check the JSON of ``PushSubscription.toJSON()``; raises PushError with what is wrong."""
    if not isinstance(data, dict):
        raise PushError("Send the subscription as a JSON object.")
    endpoint = data.get("endpoint")
    keys = data.get("keys")
    if not isinstance(endpoint, str) or not endpoint:
        raise PushError("The subscription has no endpoint.")
    if not isinstance(keys, dict) or not isinstance(keys.get("p256dh"), str) or not isinstance(keys.get("auth"), str):
        raise PushError("The subscription's keys (p256dh and auth) are missing.")
    p256dh, auth = keys["p256dh"].strip(), keys["auth"].strip()
    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        secret = b64url_decode(auth)
    except ValueError as error:
        raise PushError("The subscription's keys are not valid.") from error
    if len(point) != 65 or len(secret) != 16:
        raise PushError("The subscription's keys are not valid.")
    check_endpoint(endpoint, allow_local=allow_local)
    return SubscriptionInfo(endpoint, b64url(point), b64url(secret))


def subscribe(
    user_id: int, info: SubscriptionInfo, device: str = "", *, session_id: int | None = None
) -> tuple[PushSubscription, bool]:
    """Store the browser's subscription for this user, made in the sign-in ``session_id`` (caller commits);
    (row, created).

    The same browser subscribing again updates its row (and moves it to this sign-in); a browser another account
    had subscribed (a shared phone, a new sign-in) now notifies this one only. Beyond MAX_DEVICES the oldest of
    the user's browsers goes.
    """
    row = db.session.scalar(db.select(PushSubscription).where(PushSubscription.endpoint == info.endpoint))
    created = row is None or row.user_id != user_id  # new for this user
    if row is None:
        row = PushSubscription(endpoint=info.endpoint)
        db.session.add(row)
    row.user_id, row.p256dh, row.auth, row.device = user_id, info.p256dh, info.auth, device[:120]
    row.session_id = session_id
    if created:
        db.session.flush()
        for old in subscriptions_of(user_id)[:-MAX_DEVICES]:
            db.session.delete(old)
    return row, created


# The account page reads this on every visit: kept, with the user bound per request.
def _build_subscriptions_of():
    return (
        db.select(PushSubscription)
        .where(PushSubscription.user_id == bindparam("user_id"))
        .order_by(PushSubscription.id)
    )


_subscriptions_of = KeptStatement(_build_subscriptions_of)


def subscriptions_of(user_id: int) -> list[PushSubscription]:
    return list(db.session.scalars(_subscriptions_of(), {"user_id": user_id}))


def unsubscribe(user_id: int, endpoint: str) -> bool:
    """Delete this user's subscription with this endpoint (caller commits); False when they have none such."""
    row = db.session.scalar(
        db.select(PushSubscription).where(PushSubscription.user_id == user_id, PushSubscription.endpoint == endpoint)
    )
    if row is None:
        return False
    db.session.delete(row)
    return True


def turn_off_for_sessions(session_ids) -> None:
    """The sign-ins ``session_ids`` (a list or a select of ids) are ending by a sign-out: their browsers' subscriptions
    go with them, in the caller's transaction (explicitly: SQLite enforces no foreign keys)."""
    db.session.execute(
        delete(PushSubscription)
        .where(PushSubscription.session_id.in_(session_ids))
        .execution_options(synchronize_session="fetch")
    )


def turn_off_all(user_id: int, *, keep_session_ids: list[int] = ()) -> None:
    """Every browser of the user but those signed in as ``keep_session_ids`` (signed out everywhere, a new
    password, a deactivated account), in the caller's transaction: those whose sign-in ran out of time too."""
    statement = delete(PushSubscription).where(PushSubscription.user_id == user_id)
    if keep_session_ids:
        statement = statement.where(
            PushSubscription.session_id.not_in(list(keep_session_ids)) | PushSubscription.session_id.is_(None)
        )
    db.session.execute(statement.execution_options(synchronize_session="fetch"))


def keep_after_timeout(session_ids) -> None:
    """The sign-ins ``session_ids`` ran out of time: their browsers keep notifications, tied to no sign-in now."""
    db.session.execute(
        update(PushSubscription)
        .where(PushSubscription.session_id.in_(session_ids))
        .values(session_id=None)
        .execution_options(synchronize_session="fetch")
    )


# --- the endpoint guard ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where one POST goes: the URL's parts and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def origin(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_endpoint(url: str, *, allow_local: bool) -> Target:
    """The endpoint's target after the SSRF checks; raises EndpointRefused.

    https:// only, no user name or password in the URL, and every address the host resolves to public
    (``is_global``: not private, loopback, link-local, shared 100.64/10, reserved, documentation or multicast).
    """
    refused = EndpointRefused("This browser's push service address is not allowed.")
    if len(url) > MAX_ENDPOINT_LENGTH or any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise refused
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise refused from error
    schemes = ("https", "http") if allow_local else ("https",)
    host = parts.hostname
    if parts.scheme not in schemes or not host or parts.username is not None or parts.password is not None:
        raise refused
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise EndpointRefused("This browser's push service could not be found. Please try again later.") from error
    addresses = []
    for _family, _type, _proto, _name, sockaddr in answers:
        try:
            addresses.append(ipaddress.ip_address(sockaddr[0].split("%")[0]))
        except ValueError:
            continue
    if not addresses or (not allow_local and not all(_public(a) for a in addresses)):
        raise refused
    # IPv4 first: every push service has it, and a machine without IPv6 routes cannot reach the other.
    addresses.sort(key=lambda a: a.version)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, str(addresses[0]))


class _PinnedPoster:
    """What pywebpush posts through (its ``requests_session``): the POST goes to the address the guard checked,
    with the URL's host name for TLS (SNI, certificate check) and the Host header, and never follows a redirect."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def post(self, url: str, data=None, headers=None, timeout=None) -> requests.Response:
        import requests  # import-in-function: only a process that sends loads it (see the module's docstring)
        import urllib3  # import-in-function: only a process that sends loads it (see the module's docstring)

        target = self.target
        options = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                target.address, target.port, server_hostname=target.host, assert_hostname=target.host, **options
            )
        else:
            pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
        headers = dict(headers or {})
        headers["Host"] = target.origin.split("://", 1)[1]
        try:
            raw = pool.urlopen("POST", target.path, body=data, headers=headers, redirect=False, preload_content=False)
            content = raw.read(MAX_RESPONSE_BYTES)
            raw.release_conn()
        finally:
            pool.close()
        response = requests.Response()
        response.status_code = raw.status
        response.reason = raw.reason or ""
        response.headers = requests.structures.CaseInsensitiveDict(raw.headers)
        response._content = content
        response.url = url
        return response


# --- sending -----------------------------------------------------------------------------


def payload(title: str, body: str, link: str) -> bytes:
    """What the service worker shows: a generic title and text, and the page to open on tap."""
    return json.dumps({"title": title, "body": body, "url": link}, ensure_ascii=False).encode()


def send(sub: PushSubscription, data: bytes, *, ttl: int = DEFAULT_TTL, urgency: str = "normal") -> None:
    """POST one notification to the subscription's push service (caller commits).

    Raises SubscriptionGone after deleting the row on 404/410, EndpointRefused when the endpoint no longer passes
    the guard, and PushFailed for any other answer or a network error (``retry`` for 429, 5xx and no answer).
    """
    import urllib3  # import-in-function: only a process that sends loads it (see the module's docstring)
    from py_vapid import Vapid  # import-in-function: only a process that sends loads it (see the module's docstring)
    from pywebpush import WebPushException, webpush  # import-in-function: only a process that sends loads it

    config = current_app.config
    target = check_endpoint(sub.endpoint, allow_local=bool(config.get("PUSH_ALLOW_LOCAL_ENDPOINTS")))
    claims = {
        "sub": config.get("VAPID_SUBJECT") or "mailto:no-reply@holistiq.example",
        "aud": target.origin,
        "exp": int(time.time()) + 12 * 3600,
    }
    try:
        webpush(
            subscription_info=sub.info(),
            data=data,
            vapid_private_key=Vapid(portal_state().push_key),
            vapid_claims=claims,
            content_encoding="aes128gcm",
            ttl=ttl,
            headers={"Urgency": urgency},
            timeout=config.get("PUSH_TIMEOUT", 10),
            requests_session=_PinnedPoster(target),
        )
    except WebPushException as error:
        status = error.status_code
        if status in (404, 410):
            db.session.delete(sub)
            raise SubscriptionGone() from error
        raise PushFailed(status, retry=status is None or status == 429 or status >= 500) from error
    except (OSError, urllib3.exceptions.HTTPError) as error:
        raise PushFailed(None, retry=True) from error
    sub.last_sent_at = utcnow()


# --- the outbox's push channel ---------------------------------------------------------------------


def queue(sub: PushSubscription, title: str, body: str, link: str, *, urgency: str = "normal") -> OutboundPush:
    """A notification to one browser, in the outbox, in the caller's transaction. Generic text only."""
    message = OutboundPush(recipient=str(sub.id), subject=title[:200], body=body, link=link[:500], urgency=urgency)
    db.session.add(message)
    return message


def notify(user_id: int, title: str, body: str, link: str, *, urgency: str = "normal") -> list[OutboundPush]:
    """A notification to every browser of this user that has notifications on (none: nothing queued)."""
    return [queue(sub, title, body, link, urgency=urgency) for sub in subscriptions_of(user_id)]


def reminder_recipients(patient_ids: list[int]) -> dict[int, list[str]]:
    """For the reminders: patient id -> their browsers (as outbox recipients), for those who turned push on."""
    if not patient_ids:
        return {}
    rows = db.session.execute(
        db.select(PushSubscription.user_id, PushSubscription.id)
        .where(PushSubscription.user_id.in_(patient_ids))
        .order_by(PushSubscription.id)
    )
    found: dict[int, list[str]] = {}
    for user_id, sub_id in rows:
        found.setdefault(user_id, []).append(str(sub_id))
    return found


def deliver(message: OutboundMessage) -> None:
    """The push channel's ``send``: raises Undeliverable when retrying cannot help (the browser dropped the
    subscription, the endpoint is refused, the push service refused the request itself), anything else to retry."""
    sub = db.session.get(PushSubscription, int(message.recipient)) if message.recipient.isdigit() else None
    if sub is None:
        raise Undeliverable("the subscription was turned off")
    try:
        send(sub, payload(message.subject or "Holistiq Coach", message.text, message.link), urgency=message.urgency)
    except SubscriptionGone as error:
        raise Undeliverable("the push service no longer knows this subscription") from error
    except EndpointRefused as error:
        raise Undeliverable("the endpoint is not a public https address") from error
    except PushFailed as error:
        if not error.retry:
            raise Undeliverable(str(error)) from error
        raise
