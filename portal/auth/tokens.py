"""Signed, expiring, single-use tokens for password reset and invitations.

The token carries a fingerprint of the current password hash, email, role and
status, so it stops working once used (the password changes), when the account
is deactivated, its role changes or its email changes (a link sent to the old
address must not open the account). No table needed.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.auth.models import User
from portal.extensions import db

RESET = "password-reset"
INVITE = "invitation"


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"holistiq-{purpose}")


def _fingerprint(user: User) -> str:
    material = f"{user.password_hash or ''}|{(user.email or '').lower()}|{user.role}|{user.is_active}"
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def make_token(user: User, purpose: str = RESET) -> str:
    return _serializer(purpose).dumps({"uid": user.id, "fp": _fingerprint(user)})


def max_age_for(purpose: str) -> int:
    cfg = current_app.config
    return cfg["INVITATION_MAX_AGE"] if purpose == INVITE else cfg["PASSWORD_RESET_MAX_AGE"]


def user_from_token(token: str, purpose: str = RESET) -> User | None:
    """The user a valid, unexpired, unused token belongs to; None otherwise."""
    if not token or len(token) > 500:
        return None
    try:
        data = _serializer(purpose).loads(token, max_age=max_age_for(purpose))
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    user = db.session.get(User, data["uid"])
    if user is None or not user.is_active or data.get("fp") != _fingerprint(user):
        return None
    return user
