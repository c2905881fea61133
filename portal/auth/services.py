"""Sign-in, lockout and password changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _

from portal import audit
from portal.auth import sessions, tokens
from portal.auth.models import User, UserSession, email_lookup
from portal.auth.passwords import hash_password, needs_rehash, verify_password
from portal.extensions import db
from portal.i18n import force_locale, supported_language
from portal.mail import OutboundEmail, public_url, queue_email
from portal.timeutil import utcnow


@dataclass
class LoginResult:
    user: User | None
    locked: bool = False


def authenticate(email: str, password: str) -> LoginResult:
    """Check credentials, counting failures and locking the account after too many.

    The caller shows one message for every failure, so nothing here reveals
    whether an email exists. Commits the failure counters and the audit event.
    """
    cfg = current_app.config
    user = db.session.scalar(email_lookup(email)) if email else None
    password_ok = verify_password(user.password_hash if user else None, password)

    if user is None:
        audit.record("login.failed", detail_reason="unknown_email")
        db.session.commit()
        return LoginResult(None)

    if user.is_locked:
        audit.record("login.failed", user, actor=user, detail_reason="locked")
        db.session.commit()
        return LoginResult(None, locked=True)

    if not password_ok or not user.is_active:
        user.failed_logins += 1
        audit.record("login.failed", user, actor=user, detail_reason="bad_password" if user.is_active else "inactive")
        if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
            user.locked_until = utcnow() + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
            audit.record("login.lockout", user, actor=user)
        db.session.commit()
        return LoginResult(None)

    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginResult(user)


def count_second_factor_failure(user: User) -> None:
    """Wrong two-step codes count towards the same lockout as wrong passwords (the caller commits)."""
    cfg = current_app.config
    user.failed_logins += 1
    audit.record("login.failed", user, actor=user, detail_reason="bad_second_factor")
    if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
        user.locked_until = utcnow() + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
        user.failed_logins = 0
        audit.record("login.lockout", user, actor=user)


def record_successful_login(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    audit.record("login.success", user, actor=user)
    db.session.commit()


def set_password(
    user: User, password: str, *, action: str = "password.change", staying: UserSession | None = None
) -> None:
    """Store a new password and end every existing session of the user (``staying``: see sessions.end_all)."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    sessions.end_all(user, staying=staying)
    audit.record(action, user, actor=user)


def send_password_link(user: User, purpose: str = tokens.RESET) -> OutboundEmail:
    """Queue the reset or invitation email in the caller's transaction. Generic text only: no health data.

    The link is always on PUBLIC_BASE_URL, never on the request's host: whoever asks
    for a reset must not choose where the victim's token is sent. The caller commits,
    then hands the email to ``mail.deliver_after_response``.
    """
    token = tokens.make_token(user, purpose)
    endpoint = "auth.accept_invitation" if purpose == tokens.INVITE else "auth.reset_password"
    link = public_url(endpoint, token=token)
    hours = tokens.max_age_for(purpose) // 3600
    with force_locale(supported_language(user.language)):
        subject, body = _password_link_text(user, purpose, link, hours)
    return queue_email(user.email, subject, body)


def _password_link_text(user: User, purpose: str, link: str, hours: int) -> tuple[str, str]:
    if purpose == tokens.INVITE:
        subject = _("Your Holistiq Coach account")
        body = _(
            "Hello %(name)s,\n\nAn account has been created for you on Holistiq Coach.\n"
            "Choose your password here (the link works once, for %(hours)s hours):\n\n%(link)s\n",
            name=user.name,
            hours=hours,
            link=link,
        )
    else:
        subject = _("Reset your Holistiq Coach password")
        body = _(
            "Hello %(name)s,\n\nSomeone asked to reset the password of this account.\n"
            "If it was you, choose a new password here (the link works once, for %(hours)s hours):\n\n%(link)s\n\n"
            "If it was not you, you can ignore this email; your password stays as it is.\n",
            name=user.name,
            hours=hours,
            link=link,
        )
    return subject, body
