"""Clinics and user accounts."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, false, func, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import crypto
from portal.extensions import db
from portal.timeutil import DEFAULT_TIMEZONE, utcnow


class Role(StrEnum):
    PATIENT = "patient"
    COACH = "coach"
    ADMIN = "admin"


class Clinic(db.Model):
    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    city: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40))
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)

    # Who is called when a safety alert waits unacknowledged (portal.care.escalation), in the admin's order.
    on_call_contacts: Mapped[list[OnCallContact]] = relationship(
        back_populates="clinic", order_by="OnCallContact.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Clinic {self.name}>"


class OnCallContact(db.Model):
    """One of a clinic's on-call contacts: emailed at once about an Emergency alert and when a red-flag alert is
    escalated; their phone is shown beside escalated alerts. Not an account: they need not sign in."""

    __tablename__ = "on_call_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    clinic: Mapped[Clinic] = relationship(back_populates="on_call_contacts")


# "When I do my plan": the times of day a patient does their rounds (the calendar file's events
# and the plan reminders; later push and text reminders read them too, through ``User.plan_times``).
DEFAULT_PLAN_TIMES = (time(8, 0), time(13, 0), time(19, 0))
MAX_PLAN_TIMES = 3


# Quiet hours: no reminder on any channel from 21:00 to 08:00 (local) unless the patient changes them.
DEFAULT_QUIET_HOURS = (time(21, 0), time(8, 0))


def in_quiet_hours(at: time, start: time, end: time) -> bool:
    """Whether the local time ``at`` falls in the quiet hours [start, end) (crossing midnight when start > end;
    none when start == end)."""
    if start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def parse_plan_times(stored: str | None) -> list[time]:
    """Stored "HH:MM,HH:MM" as sorted times of day; the defaults when nothing (or nothing valid) is stored."""
    found = set()
    for part in (stored or "").split(","):
        try:
            found.add(time.fromisoformat(part.strip()).replace(second=0, microsecond=0))
        except ValueError:
            continue
    return sorted(found)[:MAX_PLAN_TIMES] or list(DEFAULT_PLAN_TIMES)


def format_plan_times(times: list[time]) -> str:
    """Times of day as stored: sorted, distinct, "HH:MM" joined by commas."""
    return ",".join(t.strftime("%H:%M") for t in sorted(set(times)))


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        # Email is unique regardless of case; we store it lower-cased and index that.
        Index("ix_user_role_active", "role", "is_active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    timezone: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(40), default="")
    # Optional: helps the clinic tell two patients of one name apart on the phone.
    date_of_birth: Mapped[date | None]
    # The language the portal, its emails and reminders speak to this user (portal.i18n.LANGUAGES).
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the account row last changed (the FHIR Patient's meta.lastUpdated); NULL until its first change.
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    # Two-factor sign-in (TOTP). The secret is stored encrypted (portal.crypto); use ``totp_secret``.
    totp_secret_encrypted: Mapped[str | None] = mapped_column("totp_secret", String(255))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    totp_last_step: Mapped[int | None]  # last accepted time step: a code works once

    # Notifications and reminders.
    email_notifications: Mapped[bool] = mapped_column(default=True)
    reminder_time: Mapped[time | None]
    # The patient's times of day for their plan ("08:00,13:00,19:00"); NULL: the defaults. Read ``plan_times``.
    plan_times_stored: Mapped[str | None] = mapped_column("plan_times", String(20))
    # Email a reminder at each of those times (a round of the plan is due).
    plan_reminders: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Phone notifications (web push, portal.push) about new messages, and for a coach about their patients'
    # Emergency and Urgent alerts; each an opt-in, sent to every browser the user turned notifications on in.
    push_messages: Mapped[bool] = mapped_column(default=False, server_default=false())
    push_alerts: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Reminders (plan rounds, the check-in) by email; texts and push have their own switch with their subscription.
    email_reminders: Mapped[bool] = mapped_column(default=True, server_default=true())
    # No reminder on any channel between these local times (start after end: the quiet hours cross midnight).
    quiet_start: Mapped[time] = mapped_column(default=DEFAULT_QUIET_HOURS[0], server_default=text("'21:00:00'"))
    quiet_end: Mapped[time] = mapped_column(default=DEFAULT_QUIET_HOURS[1], server_default=text("'08:00:00'"))

    clinic: Mapped[Clinic | None] = relationship(lazy="joined")
    coach: Mapped[User | None] = relationship(remote_side=[id], foreign_keys=[coach_id])

    # The sign-in session this request runs under (set by the session loader; not a column).
    current_session = None
    _session_secret = None

    # --- Flask-Login -----------------------------------------------------
    def get_id(self) -> str:
        """What Flask-Login keeps in the cookie: the random secret of this browser's session row."""
        return self._session_secret or ""

    def attach_session(self, row: UserSession, secret: str) -> None:
        self.current_session = row
        self._session_secret = secret

    # --- two-factor secret, encrypted at rest ----------------------------
    @property
    def totp_secret(self) -> str | None:
        value = self.totp_secret_encrypted
        return crypto.decrypt(value) if value else None

    @totp_secret.setter
    def totp_secret(self, value: str | None) -> None:
        self.totp_secret_encrypted = crypto.encrypt(value) if value else None

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > utcnow()

    # --- roles -----------------------------------------------------------
    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_coach(self) -> bool:
        return self.role == Role.COACH

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.COACH, Role.ADMIN)

    @property
    def plan_times(self) -> list[time]:
        """The times of day the patient does their plan, earliest first (1 to 3; the defaults unless chosen)."""
        return parse_plan_times(self.plan_times_stored)

    @property
    def tz(self) -> str:
        """The user's time zone: their own, else their clinic's, else the practice's."""
        if self.timezone:
            return self.timezone
        if self.clinic is not None:
            return self.clinic.timezone
        return DEFAULT_TIMEZONE

    @property
    def clinic_phone(self) -> str | None:
        """The phone of the user's clinic, the number safety advice tells a patient to call (None without a clinic)."""
        return self.clinic.phone if self.clinic is not None else None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class SessionKind(StrEnum):
    """What a session row stands for. The JSON API's access and refresh tokens become kinds of their own."""

    BROWSER = "browser"
    # Between the password step and the code step of sign-in: proves the password only.
    TWO_FACTOR_PENDING = "2fa_pending"
    # The phone app's sign-in: a long-lived refresh token (listed under "Your sessions", idle limit
    # as the browser's) and the short-lived access tokens it hands out, each a row tied to it.
    API_REFRESH = "api_refresh"
    API_ACCESS = "api_access"
    # A refresh token already exchanged for a new one, kept (hash only) under its sign-in so that
    # seeing it again is recognised as theft. Never opens anything; ends with its sign-in.
    API_REFRESH_USED = "api_refresh_used"


class UserSession(db.Model):
    """A server-side session: the cookie carries a random secret, the table only its SHA-256.

    Ending a session (sign-out, password change, deactivation, idle or absolute limit)
    deletes its row, on every app server at once.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=SessionKind.BROWSER)
    # An access token's refresh session: ending the refresh session ends its access tokens with it.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("user_session.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device: Mapped[str] = mapped_column(String(120), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class RecoveryCode(db.Model):
    """A single-use two-factor recovery code, stored hashed."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None]


def email_lookup(email: str):
    """A select() for the user with this email, case-insensitively."""
    return db.select(User).where(func.lower(User.email) == email.strip().lower())
