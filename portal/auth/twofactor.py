"""Second-factor step of sign-in (TOTP). The routes live in views_twofactor."""

from __future__ import annotations

from flask import redirect, session, url_for

from portal.auth.models import User

PENDING_KEY = "2fa_pending"


def needs_second_factor(user: User) -> bool:
    return bool(user.totp_enabled and user.totp_secret)


def begin_challenge(user: User, next_url: str | None):
    """Remember who passed the password step and ask for their code."""
    session.clear()
    session[PENDING_KEY] = {"token": user.session_token, "next": next_url or ""}
    return redirect(url_for("auth.two_factor"))
