"""Text messages (SMS): a patient's opt-in, its verification codes, the text outbox and the provider.

Texts are the outbox's "text" channel (portal.outbox): a row stored in the caller's transaction, sent right
after the response or by the worker's ``outbox`` job, claimed first so two workers never send one text twice,
retried with backoff. Bodies are generic: never a symptom, a score or an item name.

The provider is Twilio-compatible: ``POST {SMS_API_URL}/2010-04-01/Accounts/{SMS_ACCOUNT_SID}/Messages.json``
with HTTP Basic auth and the form fields To, From, Body. Replies come back signed (``X-Twilio-Signature``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from functools import lru_cache

import phonenumbers
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ForeignKey, Index, String, bindparam, func
from sqlalchemy.orm import Mapped, mapped_column, synonym

from portal.auth.models import User
from portal.extensions import db
from portal.forms import PHONE_REGION
from portal.i18n import force_locale
from portal.outbox import OutboundMessage
from portal.push import PushSubscription
from portal.sqlutil import KeptStatement
from portal.timeutil import utcnow

log = logging.getLogger(__name__)

CODE_LIFETIME = timedelta(minutes=10)
MAX_WRONG_TRIES = 5
CODES_PER_HOUR = 3
LEASE = timedelta(minutes=2)  # longer than SMS_TIMEOUT


class TextSubscription(db.Model):
    """A patient's text reminders: the verified number, and whether texts are on (STOP turns them off)."""

    __tablename__ = "text_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    enabled: Mapped[bool] = mapped_column(default=True)
    verified_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TextCode(db.Model):
    """A 6-digit code sent to a number; stored only as a keyed hash. Locked after MAX_WRONG_TRIES."""

    __tablename__ = "text_code"
    __table_args__ = (Index("ix_text_code_phone_created", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    wrong_tries: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]


class OutboundText(OutboundMessage):
    """A text in the outbox (channel "text"): ``to_number`` (E.164) is the recipient."""

    __mapper_args__ = {"polymorphic_identity": "text"}

    to_number = synonym("recipient")


class TextError(ValueError):
    """A request about texts that cannot be done; ``str()`` is the message for the person, ``status`` its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# --- numbers and codes ---------------------------------------------------------


# Asked on every visit of a patient's account page (whether to offer texts) with the same few numbers; parsing
# one with its region's metadata costs more than the rest of that section. A pure function of the string.
@lru_cache(maxsize=512)
def e164(phone: str) -> str | None:
    """The phone on file in E.164 ("+12145550100"), or None when it is not a valid number."""
    try:
        parsed = phonenumbers.parse(phone or "", PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _hash_code(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"text-code:" + code.encode(), hashlib.sha256).hexdigest()


# The account page reads this on every visit: kept, with the user bound per request.
def _build_subscription_of():
    return db.select(TextSubscription).where(TextSubscription.user_id == bindparam("user_id"))


_subscription_of = KeptStatement(_build_subscription_of)


def subscription_for(user) -> TextSubscription | None:
    return db.session.scalar(_subscription_of(), {"user_id": user.id})


# The account page's Reminders show both channels of a patient: whether their texts are on and their browsers with
# phone notifications, read together (the user's row drives the two outer joins, so a patient with neither still
# gets one row), as the columns the page shows: rows, not objects, are what a page visited this often can afford.
def _build_reminder_channels_of():
    return (
        db.select(
            TextSubscription.enabled.label("texts_on"),
            PushSubscription.id,
            PushSubscription.device,
            PushSubscription.endpoint,
            PushSubscription.session_id,
            PushSubscription.created_at,
        )
        .select_from(User)
        .outerjoin(TextSubscription, TextSubscription.user_id == User.id)
        .outerjoin(PushSubscription, PushSubscription.user_id == User.id)
        .where(User.id == bindparam("user_id"))
        .order_by(PushSubscription.id)
    )


_reminder_channels_of = KeptStatement(_build_reminder_channels_of)


def reminder_channels(user) -> tuple[bool, list]:
    """Whether the user's texts are on, and their browsers with phone notifications (rows with ``id``, ``device``,
    ``endpoint``, ``session_id`` and ``created_at``) in the order of ``push.subscriptions_of``."""
    rows = db.session.execute(_reminder_channels_of(), {"user_id": user.id}).all()
    texts_on = bool(rows and rows[0].texts_on)
    return texts_on, [row for row in rows if row.id is not None]


def start_verification(user) -> OutboundText:
    """Queue a new 6-digit code to the user's phone on file (caller commits and delivers).

    Raises TextError without a valid phone, or when the number had CODES_PER_HOUR codes in the last hour.
    """
    number = e164(user.phone)
    if number is None:
        raise TextError(_("Add a mobile phone number to your profile first (ask your clinic to update it)."))
    now = utcnow()
    recent = db.session.scalar(
        db.select(func.count())
        .select_from(TextCode)
        .where(TextCode.phone == number, TextCode.created_at > now - timedelta(hours=1))
    )
    if recent >= CODES_PER_HOUR:
        raise TextError(_("Too many codes were sent to this number. Please try again in an hour."), 429)
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.add(
        TextCode(
            user_id=user.id, phone=number, code_hash=_hash_code(code), created_at=now, expires_at=now + CODE_LIFETIME
        )
    )
    with force_locale(user.language or "en"):
        body = _("Your Holistiq Coach code is %(code)s. It expires in 10 minutes.", code=code)
    return queue_text(number, body)


def verify_code(user, code: str) -> TextSubscription:
    """Check the code against the user's newest one; turns texts on. Raises TextError (wrong, expired, locked).

    A wrong try is counted in the caller's transaction: the caller commits on failure too.
    """
    now = utcnow()
    row = db.session.scalar(
        db.select(TextCode)
        .where(TextCode.user_id == user.id, TextCode.used_at.is_(None))
        .order_by(TextCode.created_at.desc(), TextCode.id.desc())
        .limit(1)
    )
    if row is None:
        raise TextError(_('Ask for a code first with "Text me reminders".'))
    if row.wrong_tries >= MAX_WRONG_TRIES:
        raise TextError(_("This code is locked after too many wrong tries. Ask for a new code."))
    if row.expires_at <= now:
        raise TextError(_("This code has expired. Ask for a new code."))
    if not hmac.compare_digest(row.code_hash, _hash_code(code)):
        row.wrong_tries += 1
        if row.wrong_tries >= MAX_WRONG_TRIES:
            raise TextError(_("This code is locked after too many wrong tries. Ask for a new code."))
        raise TextError(_("This code is not right. Check the text and try again."))
    row.used_at = now
    sub = subscription_for(user)
    if sub is None:
        sub = TextSubscription(user_id=user.id, phone=row.phone)
        db.session.add(sub)
    sub.phone, sub.enabled, sub.verified_at = row.phone, True, now
    return sub


def reminder_recipients(patient_ids: list[int]) -> dict[int, list[str]]:
    """The text channel's reminder recipients: the verified number of each patient whose texts are on."""
    rows = db.session.execute(
        db.select(TextSubscription.user_id, TextSubscription.phone).where(
            TextSubscription.user_id.in_(patient_ids), TextSubscription.enabled.is_(True)
        )
    )
    return {patient_id: [phone] for patient_id, phone in rows}


def set_enabled(sub: TextSubscription, enabled: bool) -> None:
    sub.enabled = enabled


def test_text(user) -> OutboundText:
    """Queue a test text to the user's verified number (texts must be on). Raises TextError otherwise."""
    sub = subscription_for(user)
    if sub is None or not sub.enabled:
        raise TextError(_("Turn on text reminders first."))
    with force_locale(user.language or "en"):
        body = _("Holistiq Coach: this is a test text. Your reminders will come to this number.")
    return queue_text(sub.phone, body)


def queue_text(to: str, body: str) -> OutboundText:
    """Add a text to the outbox in the caller's transaction."""
    text = OutboundText(to_number=to, body=body)
    db.session.add(text)
    return text


# --- inbound replies -------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(auth token, full URL + each sorted parameter's name+value))."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(url: str, params: dict[str, str], signature: str | None) -> bool:
    token = current_app.config.get("SMS_AUTH_TOKEN") or ""
    if not token or not signature:
        return False
    return hmac.compare_digest(twilio_signature(token, url, params), signature)


def handle_reply(from_number: str, body: str, users_by_id) -> str | None:
    """STOP / START / HELP from a number; returns the answer to send (None: nothing to answer).

    ``users_by_id(user_id)`` returns the user (its language and clinic phone). Caller commits.
    """
    word = (body or "").strip().split(" ")[0].upper() if body else ""
    # One phone may be on file for two patients (a family): a reply speaks for the number, so for each of them.
    subs = db.session.scalars(
        db.select(TextSubscription).where(TextSubscription.phone == from_number).order_by(TextSubscription.id)
    ).all()
    user = users_by_id(subs[0].user_id) if subs else None
    language = (user.language if user is not None else None) or "en"
    with force_locale(language):
        if word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"):
            for sub in subs:
                sub.enabled = False
            return _("Holistiq Coach: you will get no more texts. Reply START to turn them back on.")
        if word in ("START", "UNSTOP", "YES"):
            if not subs:
                return None
            for sub in subs:
                sub.enabled = True
            return _("Holistiq Coach: texts are on again. Reply STOP to turn them off.")
        if word in ("HELP", "INFO"):
            phone = user.clinic_phone if user is not None else None
            if phone:
                return _(
                    "Holistiq Coach reminders. Questions? Call your clinic at %(phone)s. Reply STOP to stop.",
                    phone=phone,
                )
            return _("Holistiq Coach reminders. Questions? Call your clinic. Reply STOP to stop.")
    return None


# --- delivery ----------------------------------------------------------------------


class TwilioProvider:
    """Sends one text through a Twilio-compatible API (urllib: no extra dependency)."""

    def __init__(self, config) -> None:
        self.base = (config.get("SMS_API_URL") or "https://api.twilio.com").rstrip("/")
        self.sid = config.get("SMS_ACCOUNT_SID") or ""
        self.token = config.get("SMS_AUTH_TOKEN") or ""
        self.sender = config.get("SMS_FROM") or ""
        self.timeout = config.get("SMS_TIMEOUT", 10)

    @property
    def configured(self) -> bool:
        return bool(self.sid and self.token and self.sender)

    def send(self, to: str, body: str) -> None:
        """Raises OSError (urllib's errors are OSErrors) when the provider does not accept the text."""
        url = f"{self.base}/2010-04-01/Accounts/{urllib.parse.quote(self.sid, safe='')}/Messages.json"
        if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
            raise OSError(f"SMS_API_URL must be an http(s) address, not {self.base!r}")
        data = urllib.parse.urlencode({"To": to, "From": self.sender, "Body": body}).encode()
        request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 - SMS_API_URL is operator config
        basic = base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        request.add_header("Authorization", f"Basic {basic}")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        # The scheme is checked above; the address is the operator's SMS_API_URL.
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310
            response.read()


def provider():
    return TwilioProvider(current_app.config)


def configured() -> bool:
    """Texts wait in the outbox until SMS_ACCOUNT_SID, SMS_AUTH_TOKEN and SMS_FROM are set."""
    return provider().configured


def send_text(text: OutboundMessage) -> None:
    """The text channel's sender: one claimed row to the provider (raises OSError when it is not accepted)."""
    provider().send(text.recipient, text.body)
