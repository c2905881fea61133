"""The phone app's sign-in: a refresh token and short-lived access tokens, all server-side sessions.

A sign-in is one refresh session (listed under "Your sessions", subject to the idle
and absolute limits like a browser's); each access token is a session row pointing
at it, so ending the sign-in (from the account page, sign-out, a password change,
deactivation) ends its access tokens too. Nothing here reads the request or commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from portal import audit
from portal.auth import sessions, twofactor
from portal.auth.models import SessionKind, User, UserSession
from portal.extensions import db


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str | None
    expires_in: int  # seconds the access token lives
    refresh_session: UserSession


def _access_seconds() -> int:
    return int(current_app.config["API_ACCESS_MINUTES"]) * 60


def issue(user: User, *, user_agent: str | None, ip: str | None) -> TokenPair:
    """A new phone sign-in for a user whose password (and two-step code) were proven."""
    refresh_row, refresh_secret = sessions.start(user, kind=SessionKind.API_REFRESH, user_agent=user_agent, ip=ip)
    _access_row, access_secret = sessions.start(
        user, kind=SessionKind.API_ACCESS, user_agent=user_agent, ip=ip, parent=refresh_row
    )
    audit.record("api.token_issued", refresh_row, actor=user)
    return TokenPair(access_secret, refresh_secret, _access_seconds(), refresh_row)


def refresh(refresh_secret: object, *, user_agent: str | None, ip: str | None) -> TokenPair | None:
    """A new access token from a live refresh token, or None (expired, idle, revoked, deactivated)."""
    resumed = sessions.resume(refresh_secret, kind=SessionKind.API_REFRESH)
    if resumed.session is None:
        return None
    row = resumed.session
    _access_row, access_secret = sessions.start(
        row.user, kind=SessionKind.API_ACCESS, user_agent=user_agent, ip=ip, parent=row
    )
    return TokenPair(access_secret, None, _access_seconds(), row)


def sign_out(access_session: UserSession) -> None:
    """End the sign-in an access token belongs to: its refresh token and every access token."""
    parent = access_session.parent_id and db.session.get(UserSession, access_session.parent_id)
    sessions.end(parent or access_session)
    audit.record("logout", access_session.user, actor=access_session.user, via="api")


def second_factor_problem(user: User, code: str | None) -> str | None:
    """Why the two-step step fails for this user ("enrol", "missing", "wrong"), or None when it passes.

    Staff must have two-step sign-in set up (on the website) before the app can sign them in.
    """
    if twofactor.must_enrol(user):
        return "enrol"
    if not twofactor.needs_second_factor(user):
        return None
    if not code:
        return "missing"
    if twofactor.verify_second_factor(user, twofactor.normalize_code(code)) is None:
        return "wrong"
    return None
