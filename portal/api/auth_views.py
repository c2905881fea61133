"""Signing the phone app in and out: access and refresh tokens, as server-side sessions."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import gettext as _

from portal.api.blueprint import bp, problem, token_required, unauthorized
from portal.api.problems import problems
from portal.api.schemas import RefreshRequestSchema, TokenRequestSchema, TokenSchema
from portal.auth import api_tokens
from portal.auth.services import authenticate, count_second_factor_failure, record_successful_login
from portal.extensions import db, limiter


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _token_body(pair: api_tokens.TokenPair) -> dict:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "Bearer",  # nosec B105 - the OAuth token type, not a secret
        "expires_in": pair.expires_in,
    }


@bp.route("/auth/token", methods=["POST"])
@limiter.limit(_login_rate_limit)
@bp.arguments(TokenRequestSchema)
@bp.response(201, TokenSchema)
@problems("invalid_credentials", "two_step_code_required", "two_step_code_wrong", "two_step_setup_required")
@bp.doc(security=[], operationId="signIn")
def issue_token(values: dict):
    """Sign in with email and password (and the two-step code for staff): an access and a refresh token.

    Failures count towards the same lockout as the sign-in page.
    """
    result = authenticate(values["email"], values["password"])
    if result.user is None:
        return unauthorized(_("Invalid email or password."), "invalid_credentials")
    user = result.user
    reason = api_tokens.second_factor_problem(user, values.get("code"))
    if reason == "enrol":
        db.session.rollback()
        return problem(
            403, _("Set up two-step sign-in on the website first, then sign in here."), code="two_step_setup_required"
        )
    if reason == "missing":
        db.session.rollback()
        return unauthorized(_("Enter the code from your authenticator app."), "two_step_code_required")
    if reason == "wrong":
        count_second_factor_failure(user)
        db.session.commit()
        return unauthorized(
            _("That code is not right, or it was already used. Try the newest code from your app."),
            "two_step_code_wrong",
        )
    pair = api_tokens.issue(user, user_agent=request.user_agent.string, ip=request.remote_addr)
    record_successful_login(user)  # commits the sessions with the audit event
    return _token_body(pair), 201


@bp.route("/auth/refresh", methods=["POST"])
@limiter.limit(_login_rate_limit)
@bp.arguments(RefreshRequestSchema)
@bp.response(201, TokenSchema)
@problems("refresh_token_reused", "session_ended")
@bp.doc(security=[], operationId="refreshToken")
def refresh_token(values: dict):
    """A new access token and a new refresh token; the refresh token sent is used up.

    Keep only the newest refresh token: each one works once. Sending a used one again
    is taken as a sign that it was copied, and ends the whole sign-in (the newest
    refresh token and every access token too): the app must sign in again.
    A refused refresh token answers 401; its problem document's `code` says which case it was
    (`refresh_token_reused` or `session_ended`).
    """
    outcome = api_tokens.refresh(values["refresh_token"], user_agent=request.user_agent.string, ip=request.remote_addr)
    db.session.commit()  # also when refused: a session past its limit, or a reused token's sign-in, was ended
    if outcome is api_tokens.RefreshRefused.REUSED:
        return unauthorized(
            _("This refresh token was already used, so this sign-in has ended for your safety. Please sign in again."),
            "refresh_token_reused",
        )
    if outcome is api_tokens.RefreshRefused.ENDED:
        return unauthorized(_("This sign-in has ended. Please sign in again."), "session_ended")
    return _token_body(outcome), 201


@bp.route("/auth/revoke", methods=["POST"])
@token_required()
@bp.response(204)
@bp.doc(operationId="signOut")
def revoke_token():
    """Sign out: ends this sign-in's refresh token and every access token it issued."""
    api_tokens.sign_out(g.api_session)
    db.session.commit()
    return ""
