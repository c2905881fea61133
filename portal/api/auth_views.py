"""Signing the phone app in and out: access and refresh tokens, as server-side sessions."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import gettext as _

from portal.api.blueprint import bp, problem, token_required, unauthorized
from portal.api.schemas import RefreshRequestSchema, TokenRequestSchema, TokenSchema
from portal.auth import api_tokens
from portal.auth.services import authenticate, count_second_factor_failure, record_successful_login
from portal.extensions import db, limiter


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _token_body(pair: api_tokens.TokenPair) -> dict:
    body = {"access_token": pair.access_token, "token_type": "Bearer", "expires_in": pair.expires_in}  # nosec B105 - the OAuth token type, not a secret
    if pair.refresh_token is not None:
        body["refresh_token"] = pair.refresh_token
    return body


@bp.route("/auth/token", methods=["POST"])
@limiter.limit(_login_rate_limit)
@bp.arguments(TokenRequestSchema)
@bp.response(201, TokenSchema)
@bp.doc(security=[])
def issue_token(values: dict):
    """Sign in with email and password (and the two-step code for staff): an access and a refresh token.

    Failures count towards the same lockout as the sign-in page.
    """
    result = authenticate(values["email"], values["password"])
    if result.user is None:
        return unauthorized(_("Invalid email or password."))
    user = result.user
    reason = api_tokens.second_factor_problem(user, values.get("code"))
    if reason == "enrol":
        db.session.rollback()
        return problem(403, _("Set up two-step sign-in on the website first, then sign in here."))
    if reason == "missing":
        db.session.rollback()
        return unauthorized(_("Enter the code from your authenticator app."))
    if reason == "wrong":
        count_second_factor_failure(user)
        db.session.commit()
        return unauthorized(_("That code is not right, or it was already used. Try the newest code from your app."))
    pair = api_tokens.issue(user, user_agent=request.user_agent.string, ip=request.remote_addr)
    record_successful_login(user)  # commits the sessions with the audit event
    return _token_body(pair), 201


@bp.route("/auth/refresh", methods=["POST"])
@limiter.limit(_login_rate_limit)
@bp.arguments(RefreshRequestSchema)
@bp.response(201, TokenSchema)
@bp.doc(security=[])
def refresh_token(values: dict):
    """A new access token from the refresh token (which stays the same)."""
    pair = api_tokens.refresh(values["refresh_token"], user_agent=request.user_agent.string, ip=request.remote_addr)
    if pair is None:
        db.session.commit()  # a refresh session past its limit was deleted
        return unauthorized(_("This sign-in has ended. Please sign in again."))
    db.session.commit()
    return _token_body(pair), 201


@bp.route("/auth/revoke", methods=["POST"])
@token_required()
@bp.response(204)
def revoke_token():
    """Sign out: ends this sign-in's refresh token and every access token it issued."""
    api_tokens.sign_out(g.api_session)
    db.session.commit()
    return ""
