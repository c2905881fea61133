"""Second factor of sign-in: TOTP authenticator codes and single-use recovery codes.

The routes live in ``twofactor_views``; this module holds the rules, so the
login view, the admin reset and the tests share one implementation.

Replay protection and single use are enforced with conditional UPDATEs, so two
app servers behind a load balancer cannot both accept the same code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import time
from collections.abc import Mapping, MutableMapping

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import update

from portal import audit, crypto
from portal.auth import sessions
from portal.auth.models import RecoveryCode, SessionKind, User
from portal.extensions import db
from portal.timeutil import utcnow

PENDING_KEY = "2fa_pending"
ISSUER = "Holistiq Coach"
RECOVERY_CODE_COUNT = 10
# 16 characters from a 32-letter alphabet: 80 random bits per recovery code.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_GROUPS = 4
_STEP_SECONDS = 30
_VALID_WINDOW = 1  # accept the previous and next 30-second step (clock drift)


# --- policy ---------------------------------------------------------------


def needs_second_factor(user: User) -> bool:
    """True when the user has an enrolled authenticator."""
    return bool(user.totp_enabled and user.totp_secret)


def must_enrol(user: User) -> bool:
    """Staff cannot use the portal until they have enrolled an authenticator."""
    return user.is_staff and not needs_second_factor(user)


# --- the challenge during sign-in ------------------------------------------


# The cookie between the two steps holds only the random secret of a pending challenge
# (a session row of its own kind, 5 minutes, single use): nothing that is, or derives, a
# full session, so a signed-but-forged or replayed pending cookie leads back to the login page.


def remember_challenge(cookie: MutableMapping, secret: str, next_url: str | None) -> None:
    """Keep the pending challenge's secret (and where to go afterwards) in the browser's cookie."""
    cookie[PENDING_KEY] = {"challenge": secret, "next": next_url or ""}


def pending_secret(cookie: Mapping) -> str | None:
    pending = cookie.get(PENDING_KEY)
    secret = pending.get("challenge") if isinstance(pending, dict) else None
    return secret if isinstance(secret, str) else None


def pending_user(cookie: Mapping) -> User | None:
    """The user who passed the password step in this browser, while the challenge is live."""
    resumed = sessions.resume(pending_secret(cookie), kind=SessionKind.TWO_FACTOR_PENDING)
    if resumed.session is None:
        return None
    user = resumed.session.user
    if user.is_locked or not needs_second_factor(user):
        return None
    return user


def pending_next(cookie: Mapping) -> str:
    pending = cookie.get(PENDING_KEY)
    return str(pending.get("next") or "") if isinstance(pending, dict) else ""


def complete_challenge(cookie: Mapping) -> bool:
    """Use up the challenge once the code is accepted: only one sign-in per password step."""
    return sessions.consume_pending(pending_secret(cookie))


# --- TOTP -------------------------------------------------------------------


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI (the CSP allows data: images, not inline markup)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def format_secret(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalize_code(raw: str | None) -> str:
    return "".join(ch for ch in (raw or "").lower() if ch.isalnum())


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code equals ``code`` within the allowed drift, else None."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((now if now is not None else time.time()) // _STEP_SECONDS)
    for step in range(current - _VALID_WINDOW, current + _VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def accept_totp(user: User, code: str, *, now: float | None = None) -> bool:
    """Check an authenticator code; each code (time step) is accepted once only.

    The UPDATE only succeeds when the step is newer than the last accepted one,
    which also holds when two servers race on the same code.
    """
    if not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, normalize_code(code), now)
    if step is None:
        return False
    result = db.session.execute(
        update(User)
        .where(User.id == user.id)
        .where((User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    user.totp_last_step = step
    return True


# --- recovery codes ---------------------------------------------------------


def _hash_recovery_code(code: str) -> str:
    # The codes carry 80 random bits, so a fast hash is enough (unlike passwords),
    # and the lookup by hash keeps a sign-in to one indexed query.
    return hashlib.sha256(("holistiq-recovery:" + normalize_code(code)).encode()).hexdigest()


def _new_recovery_code() -> str:
    groups = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(_RECOVERY_GROUPS)]
    return "-".join(groups)


def issue_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them in clear once."""
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_recovery_code(code)) for code in codes)
    return codes


def accept_recovery_code(user: User, code: str) -> bool:
    """Use up one recovery code; a code works once, even across servers."""
    normalized = normalize_code(code)
    if len(normalized) != 4 * _RECOVERY_GROUPS:
        return False
    result = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_recovery_code(normalized),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def recovery_codes_left(user: User) -> int:
    return (
        db.session.scalar(
            db.select(db.func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def verify_second_factor(user: User, code: str) -> str | None:
    """'totp' or 'recovery' when the code is accepted, else None."""
    if accept_totp(user, code):
        return "totp"
    if accept_recovery_code(user, code):
        return "recovery"
    return None


# --- enrolment and reset ------------------------------------------------------


def start_enrolment(user: User) -> None:
    """Give the user a fresh secret to scan; it is not active until confirmed."""
    if not user.totp_secret or user.totp_enabled:
        user.totp_secret = new_secret()
        user.totp_enabled = False
        user.totp_last_step = None


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Turn two-factor on when the code proves the app is set up; returns the recovery codes."""
    if user.totp_enabled or not user.totp_secret or not accept_totp(user, code):
        return None
    user.totp_enabled = True
    codes = issue_recovery_codes(user)
    # Sessions started before enrolment did not prove the second factor: end them (this browser signs in again).
    sessions.end_all(user, staying=user.current_session)
    audit.record("2fa.enable", user, actor=user)
    return codes


def disable(user: User, *, actor: User, action: str = "2fa.disable") -> None:
    """Remove the authenticator and recovery codes and end the user's sessions."""
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_step = None
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    # The user's own change keeps this browser signed in (on a new session); an admin's reset keeps nothing.
    sessions.end_all(user, staying=user.current_session if actor.id == user.id else None)
    audit.record(action, user, actor=actor)


def reencrypt_secrets() -> int:
    """Re-encrypt every stored authenticator secret with the first DATA_ENCRYPTION_KEY (caller commits)."""
    rows = db.session.execute(
        db.select(User.id, User.totp_secret_encrypted).where(User.totp_secret_encrypted.is_not(None))
    ).all()
    for user_id, token in rows:
        db.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(totp_secret_encrypted=crypto.rotate(token))
            .execution_options(synchronize_session=False)
        )
    return len(rows)
