"""Server-side sessions: starting, resuming, listing and ending them.

The cookie carries a random secret; the ``user_session`` table keeps only its
SHA-256, so a database dump yields no live session. Every rule lives here: the
idle and absolute limits, the once-a-minute activity stamp, who may end what.
Like every service, nothing here reads the request or commits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, update
from ua_parser import parse as parse_user_agent

from portal import push
from portal.auth.models import SessionKind, User, UserSession
from portal.errors import NotFound
from portal.extensions import db
from portal.sqlutil import KeptStatement
from portal.timeutil import utcnow

# Activity is stamped at most this often per session: no database write on every request.
TOUCH_INTERVAL = timedelta(seconds=60)
PENDING_LIFETIME = timedelta(minutes=5)  # between the password step and the code step
_MAX_SECRET_LENGTH = 128
# Kinds a person signs in with, listed under "Your sessions" and ended after the idle limit.
# An API access token is short-lived instead, and lives as long as its refresh session at most.
IDLE_KINDS = (SessionKind.BROWSER, SessionKind.API_REFRESH)


# Every request finds its session with this statement: kept, SQLAlchemy's cache key with it.
def _build_by_secret():
    return db.select(UserSession).where(
        UserSession.secret_hash == bindparam("secret_hash"), UserSession.kind == bindparam("kind")
    )


_by_secret = KeptStatement(_build_by_secret)


@dataclass
class Resumed:
    """The outcome of presenting a session secret: the live session, or why there is none."""

    session: UserSession | None
    ended: str | None = None  # "idle" or "expired" when this request found the session past a limit


def hash_secret(secret: str) -> str:
    # The secret carries 256 random bits, so a fast hash is enough and keeps the lookup one indexed query.
    return hashlib.sha256(secret.encode()).hexdigest()


def describe_device(user_agent: str | None) -> str:
    """'Firefox 128 on Ubuntu', from the User-Agent header; '' when nothing is recognised."""
    if not user_agent:
        return ""
    result = parse_user_agent(user_agent[:1000])
    parts = []
    if result.user_agent is not None and result.user_agent.family != "Other":
        agent = result.user_agent
        parts.append(f"{agent.family} {agent.major}" if agent.major else agent.family)
    if result.os is not None and result.os.family != "Other":
        os_ = result.os
        parts.append(f"{os_.family} {os_.major}" if os_.major else os_.family)
    return " · ".join(parts)[:120]


def idle_limit_for(user: User) -> timedelta:
    cfg = current_app.config
    minutes = cfg["STAFF_IDLE_MINUTES"] if user.is_staff else cfg["PATIENT_IDLE_MINUTES"]
    return timedelta(minutes=minutes)


def absolute_limit() -> timedelta:
    return current_app.permanent_session_lifetime  # SESSION_LIFETIME_MINUTES


def start(
    user: User,
    *,
    kind: str = SessionKind.BROWSER,
    user_agent: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
    parent: UserSession | None = None,
) -> tuple[UserSession, str]:
    """A new session row for the user and its secret (given out once, never stored).

    An API access token is started with its refresh session as ``parent``; it lives
    API_ACCESS_MINUTES, but never longer than its user's idle limit (a staff token
    unused for STAFF_IDLE_MINUTES is dead, like a browser session), and never past its parent.
    """
    now = now or utcnow()
    if kind == SessionKind.TWO_FACTOR_PENDING:
        lifetime = PENDING_LIFETIME
    elif kind == SessionKind.API_ACCESS:
        lifetime = min(timedelta(minutes=current_app.config["API_ACCESS_MINUTES"]), idle_limit_for(user))
    else:
        lifetime = absolute_limit()
    expires_at = now + lifetime
    if parent is not None:
        expires_at = min(expires_at, parent.expires_at)
    _purge_expired(user, now)
    secret = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        kind=kind,
        secret_hash=hash_secret(secret),
        device=describe_device(user_agent),
        ip=(ip or "")[:45],
        created_at=now,
        last_active_at=now,
        expires_at=expires_at,
        parent_id=parent.id if parent is not None else None,
    )
    db.session.add(row)
    db.session.flush()
    return row, secret


def _purge_expired(user: User, now: datetime) -> None:
    """Sessions past their absolute limit are deleted when their owner next signs in."""
    push.keep_after_timeout(
        db.select(UserSession.id).where(UserSession.user_id == user.id, UserSession.expires_at <= now)
    )
    db.session.execute(
        delete(UserSession)
        .where(UserSession.user_id == user.id, UserSession.expires_at <= now)
        .execution_options(synchronize_session="fetch")
    )


def resume(secret: object, *, kind: str = SessionKind.BROWSER, now: datetime | None = None) -> Resumed:
    """The live session this secret opens, enforcing the idle and absolute limits.

    A session past a limit is deleted. Activity is stamped when the last stamp is a
    minute old or more, so the idle limit is exact to within that minute.
    """
    if not isinstance(secret, str) or not secret or len(secret) > _MAX_SECRET_LENGTH:
        return Resumed(None)
    now = now or utcnow()
    row = db.session.scalar(_by_secret(), {"secret_hash": hash_secret(secret), "kind": kind})
    if row is None:
        return Resumed(None)
    user = row.user
    if not user.is_active:
        end(row)
        return Resumed(None, "expired")
    if row.expires_at <= now:
        end(row, timed_out=True)
        return Resumed(None, "expired")
    if kind in IDLE_KINDS and now - row.last_active_at > idle_limit_for(user):
        end(row, timed_out=True)
        return Resumed(None, "idle")
    if now - row.last_active_at >= TOUCH_INTERVAL:
        row.last_active_at = now
    user.attach_session(row, secret)
    return Resumed(row)


def find(secret: object, *, kind: str) -> UserSession | None:
    """The session row of this kind the secret belongs to, limits not applied (for recognising used secrets)."""
    if not isinstance(secret, str) or not secret or len(secret) > _MAX_SECRET_LENGTH:
        return None
    return db.session.scalar(_by_secret(), {"secret_hash": hash_secret(secret), "kind": kind})


def replace_secret(row: UserSession, old_secret: str) -> str | None:
    """Give the session a new secret in place of ``old_secret``; None when another request replaced it first.

    The swap is one conditional UPDATE, so of two requests racing with the same old
    secret (on one server or several) exactly one gets a new secret.
    """
    secret = secrets.token_urlsafe(32)
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.id == row.id, UserSession.secret_hash == hash_secret(old_secret))
        .values(secret_hash=hash_secret(secret))
        .execution_options(synchronize_session="fetch")
    )
    return secret if result.rowcount == 1 else None


def needs_commit(row: UserSession | None) -> bool:
    """Whether resume() left a change to store (a deletion or an activity stamp)."""
    return bool(db.session.deleted) or (row is not None and row in db.session.dirty)


def consume_pending(secret: object, *, now: datetime | None = None) -> bool:
    """Use up a pending two-step challenge: True for exactly one caller, even across servers."""
    if not isinstance(secret, str) or not secret or len(secret) > _MAX_SECRET_LENGTH:
        return False
    result = db.session.execute(
        delete(UserSession)
        .where(
            UserSession.secret_hash == hash_secret(secret),
            UserSession.kind == SessionKind.TWO_FACTOR_PENDING,
            UserSession.expires_at > (now or utcnow()),
        )
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


# "Your sessions" on the account page: kept, the columns the list shows (no session objects with their user and
# clinic joined in, which cost more than the statement itself).
def _build_live_sessions_of():
    return (
        db.select(
            UserSession.id,
            UserSession.kind,
            UserSession.device,
            UserSession.ip,
            UserSession.created_at,
            UserSession.last_active_at,
        )
        .where(
            UserSession.user_id == bindparam("user_id"),
            UserSession.kind.in_(IDLE_KINDS),
            UserSession.expires_at > bindparam("now"),
            UserSession.last_active_at >= bindparam("active_since"),
        )
        .order_by(UserSession.last_active_at.desc(), UserSession.id.desc())
    )


_live_sessions_of = KeptStatement(_build_live_sessions_of)


def active_for(user: User, *, now: datetime | None = None) -> list:
    """The user's live sessions (browsers and phone-app sign-ins), most recently active first: rows with
    ``id``, ``kind``, ``device``, ``ip``, ``created_at`` and ``last_active_at``."""
    now = now or utcnow()
    return db.session.execute(
        _live_sessions_of(), {"user_id": user.id, "now": now, "active_since": now - idle_limit_for(user)}
    ).all()


def end(row: UserSession, *, timed_out: bool = False) -> None:
    """End a session and, for a phone-app sign-in, the access tokens it issued (and its used refresh tokens).

    A sign-out turns off the notifications of the browser signed in with it; a session that ran out of time
    (``timed_out``) leaves them on: nobody signed out, and reminders are for the days the portal is not open.
    """
    if timed_out:
        push.keep_after_timeout([row.id])
    else:
        push.turn_off_for_sessions([row.id])
    # Deleted here rather than left to ON DELETE CASCADE: SQLite enforces foreign keys only when asked.
    db.session.execute(
        delete(UserSession).where(UserSession.parent_id == row.id).execution_options(synchronize_session="fetch")
    )
    db.session.delete(row)


def end_by_id(session_id: int) -> None:
    """Like end(), by id, for a session another request may have ended already (then nothing happens)."""
    push.turn_off_for_sessions([session_id])
    for condition in (UserSession.parent_id == session_id, UserSession.id == session_id):
        db.session.execute(delete(UserSession).where(condition).execution_options(synchronize_session="fetch"))


def end_own(user: User, session_id: int) -> UserSession:
    """End one of the user's own sessions listed under "Your sessions"; someone else's (or none) is NotFound."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id or row.kind not in IDLE_KINDS:
        raise NotFound()
    end(row)
    return row


def end_all(user: User, *, keep: UserSession | None = None, staying: UserSession | None = None) -> int:
    """End every session of the user (of every kind), except ``keep``; returns how many ended.

    Every browser's notifications go with them (but ``keep``'s): those whose sign-in had run out of time too,
    since "everywhere" means every other place. ``staying`` is ended too, but its browser stays signed in on a
    new session (the user's own password or two-step change): its notifications stay on, tied to no session,
    as after a time limit, until its account page ties them to the new one.
    """
    push.turn_off_all(user.id, keep_session_ids=[row.id for row in (keep, staying) if row is not None])
    if staying is not None:
        push.keep_after_timeout([staying.id])
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        statement = statement.where(UserSession.id != keep.id)
        # Children first: access tokens of an ended phone sign-in go with it (keep's own children stay).
        db.session.execute(
            delete(UserSession)
            .where(UserSession.user_id == user.id, UserSession.parent_id.is_not(None))
            .where(UserSession.parent_id != keep.id)
            .execution_options(synchronize_session="fetch")
        )

    result = db.session.execute(statement.execution_options(synchronize_session="fetch"))
    if keep is None:
        user.current_session = None
    return result.rowcount or 0
