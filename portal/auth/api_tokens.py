"""The phone app's sign-in: a refresh token and short-lived access tokens, all server-side sessions.

A sign-in is one refresh session (listed under "Your sessions", subject to the idle
and absolute limits like a browser's); each access token is a session row pointing
at it, so ending the sign-in (from the account page, sign-out, a password change,
deactivation) ends its access tokens too. Nothing here reads the request or commits.

Refresh tokens rotate (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): each refresh gives
a new refresh token and the one presented is used up. Its hash stays under the
sign-in as a used-token row; if it is ever presented again, someone holds a copy
(the app or a thief, and we cannot tell which), so the whole sign-in ends: the
newest refresh token and every access token with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from portal import audit
from portal.auth import sessions, twofactor
from portal.auth.models import SessionKind, User, UserSession
from portal.extensions import db
from portal.timeutil import utcnow


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives
    refresh_session: UserSession


class RefreshRefused(StrEnum):
    ENDED = "ended"  # unknown, revoked, signed out, past the idle or absolute limit, deactivated
    REUSED = "reused"  # already used: the sign-in it belonged to has been ended now


def _lifetime_seconds(access_row: UserSession) -> int:
    """Seconds the access token lives: API_ACCESS_MINUTES, or less (the staff idle limit, its sign-in's end)."""
    return int((access_row.expires_at - access_row.created_at).total_seconds())


def issue(user: User, *, user_agent: str | None, ip: str | None) -> TokenPair:
    """A new phone sign-in for a user whose password (and two-step code) were proven."""
    refresh_row, refresh_secret = sessions.start(user, kind=SessionKind.API_REFRESH, user_agent=user_agent, ip=ip)
    access_row, access_secret = sessions.start(
        user, kind=SessionKind.API_ACCESS, user_agent=user_agent, ip=ip, parent=refresh_row
    )
    audit.record("api.token_issued", refresh_row, actor=user)
    return TokenPair(access_secret, refresh_secret, _lifetime_seconds(access_row), refresh_row)


def refresh(refresh_secret: object, *, user_agent: str | None, ip: str | None) -> TokenPair | RefreshRefused:
    """A new access token and a new refresh token for a live refresh token, which is used up.

    A refresh token presented a second time ends its whole sign-in (REUSED).
    """
    resumed = sessions.resume(refresh_secret, kind=SessionKind.API_REFRESH)
    row = resumed.session
    if row is None:
        if resumed.ended is None and _end_sign_in_of_used(refresh_secret):
            return RefreshRefused.REUSED
        return RefreshRefused.ENDED
    used_secret = str(refresh_secret)  # a str: resume() found a session for it
    new_secret = sessions.replace_secret(row, used_secret)
    if new_secret is None:
        # Another request exchanged this very token a moment ago: the same token used twice.
        _end_sign_in(row.id, row.user)
        return RefreshRefused.REUSED
    db.session.add(
        UserSession(
            user_id=row.user_id,
            kind=SessionKind.API_REFRESH_USED,
            parent_id=row.id,
            secret_hash=sessions.hash_secret(used_secret),
            device=row.device,
            ip=(ip or "")[:45],
            created_at=utcnow(),
            last_active_at=utcnow(),
            expires_at=row.expires_at,  # worth remembering only as long as the sign-in can live
        )
    )
    access_row, access_secret = sessions.start(
        row.user, kind=SessionKind.API_ACCESS, user_agent=user_agent, ip=ip, parent=row
    )
    return TokenPair(access_secret, new_secret, _lifetime_seconds(access_row), row)


def _end_sign_in_of_used(refresh_secret: object) -> bool:
    """End the sign-in a used refresh token belonged to; False when the token is no used one we know."""
    used = sessions.find(refresh_secret, kind=SessionKind.API_REFRESH_USED)
    if used is None or used.parent_id is None:
        return False
    _end_sign_in(used.parent_id, used.user)
    return True


def _end_sign_in(refresh_session_id: int, user: User) -> None:
    sessions.end_by_id(refresh_session_id)
    audit.record("api.refresh_reused", user, actor=user)


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
