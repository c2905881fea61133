"""The API's blueprint, its OpenAPI description, bearer-token authentication and problem documents.

flask-smorest generates the OpenAPI 3.1 document from the marshmallow schemas the
views declare, and parses every body and query string with them (unknown fields
are refused), so the contract and the validation cannot drift apart.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, g, request
from flask_babel import gettext as _
from flask_smorest import Api, Blueprint
from marshmallow import RAISE, Schema, fields
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest, HTTPException

from portal import jsonbody
from portal.api.problems import ProblemsPlugin, problems
from portal.auth import sessions
from portal.auth.models import Role, SessionKind, User
from portal.care.consent import consent_state
from portal.errors import BadInput, NotAllowed, NotFound, problem
from portal.extensions import csrf, db

F = TypeVar("F", bound=Callable[..., Any])

PREFIX = "/api/v1"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25


class StrictParser(FlaskParser):
    """webargs ignores unknown query parameters by default; the API refuses them, as it does unknown body fields."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE, "querystring": RAISE}

    def _raw_load_json(self, req):
        """The body as webargs reads it, but with over-deep nesting and lone surrogates refused as bad JSON.

        Every operation that reads a JSON body requires one (the document says so): a request
        without one, or with another content type, is refused, even when every field is optional.
        """
        data = req.get_data(cache=True)
        if not is_json_request(req) or not data:
            raise JsonRequired()
        return jsonbody.loads(data)


class JsonRequired(BadRequest):
    """An operation that reads a JSON body got none."""


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()


bp = ApiBlueprint("api", __name__, url_prefix=PREFIX, description="Holistiq Coach API")


class ProblemFieldSchema(Schema):
    field = fields.String(required=True)
    location = fields.String(required=True)
    message = fields.String(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details; ``errors`` lists each refused field for a 422."""

    type = fields.String(
        required=True, metadata={"description": "A stable URI naming the problem: its page explains it"}
    )
    code = fields.String(
        required=True,
        metadata={"description": "What went wrong, for programs (`item_paused`, `two_step_code_wrong`, …)"},
    )
    title = fields.String(required=True, metadata={"description": "The HTTP status phrase, in English"})
    status = fields.Integer(required=True)
    detail = fields.String(required=True, metadata={"description": "What went wrong, in the reader's language"})
    errors = fields.List(fields.Nested(ProblemFieldSchema))


class PortalApi(Api):
    """flask-smorest's Api, without its app-wide error handler: the pages keep their HTML errors.

    Error responses are documented by ProblemsPlugin (application/problem+json, per operation),
    so flask-smorest's own default error response is left out.
    """

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        return None


def _field_errors(messages: dict) -> list[dict]:
    """webargs' nested {location: {field: [messages]}} as a flat list."""
    found = []

    def walk(location: str, path: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(location, f"{path}.{key}" if path else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            for message in value:
                found.append({"field": path or "_body", "location": location, "message": message})
        else:
            found.append({"field": path or "_body", "location": location, "message": str(value)})

    for location, by_field in (messages or {}).items():
        walk(location, "", by_field)
    return found


@bp.errorhandler(HTTPException)
def _http_problem(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or {}
    if status == 422 and messages:
        return problem(422, _("Some fields were not right."), code="validation_failed", errors=_field_errors(messages))
    if isinstance(error, JsonRequired) or (status == 400 and request.is_json is False and request.method != "GET"):
        return problem(400, _("Send the body as JSON (Content-Type: application/json)."), code="json_required")
    if status == 400 and ("json" in messages or isinstance(getattr(error, "__cause__", None), ValueError)):
        return problem(
            400,
            _("The body is not valid JSON (or nests too deeply, or holds invalid Unicode)."),
            code="invalid_json",
        )
    detail = error.description if status in (400, 409, 422) and error.description else None
    return problem(status, detail)


@bp.errorhandler(NotFound)
def _not_found(error: NotFound):
    return problem(404)


@bp.errorhandler(NotAllowed)
def _not_allowed(error: NotAllowed):
    return problem(403)


@bp.errorhandler(BadInput)
def _bad_input(error: BadInput):
    return problem(400, str(error))


@bp.errorhandler(StaleDataError)
def _stale(error: StaleDataError):
    db.session.rollback()
    return problem(409, code="edit_conflict")


@bp.errorhandler(DataError)
def _data_error(error: DataError):
    db.session.rollback()
    return problem(400)


@bp.after_request
def _no_content_type_without_content(response):
    """A 204 has no body, so it carries no Content-Type either (RFC 9110 §15.3.5)."""
    if response.status_code == 204:
        response.headers.pop("Content-Type", None)
        response.headers.pop("Content-Length", None)
    return response


def unauthorized(detail: str, code: str):
    response = problem(401, detail, code=code)
    response.headers["WWW-Authenticate"] = 'Bearer realm="api", error="invalid_token"'
    return response


def bearer_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


# What a patient's token opens before the patient has agreed to the newest consent texts.
CONSENT_FREE_ENDPOINTS = frozenset(
    {"api.consent_status", "api.give_consent_route", "api.revoke_token", "api.get_profile"}
)


def token_required(*roles: str) -> Callable[[F], F]:
    """Let in a valid access token of one of ``roles`` (any role when none is named).

    Only the Authorization header counts: the browser's session cookie opens no API route.
    The user is ``g.api_user``; a role without access to the route is 403.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            secret = bearer_secret()
            if secret is None:
                return unauthorized(
                    _("Sign in first: send an access token as Authorization: Bearer <token>."), "sign_in_required"
                )
            resumed = sessions.resume(secret, kind=SessionKind.API_ACCESS)
            if sessions.needs_commit(resumed.session):
                db.session.commit()
            if resumed.session is None:
                return unauthorized(
                    _("This access token has expired or was revoked. Refresh it or sign in again."),
                    "access_token_invalid",
                )
            user: User = resumed.session.user
            g.api_user = user
            g.api_session = resumed.session
            if roles and user.role not in roles:
                return problem(403)
            if user.role == Role.PATIENT and request.endpoint not in CONSENT_FREE_ENDPOINTS:
                if consent_state(user).required:
                    return problem(
                        403,
                        _(
                            "Agree to your clinic's coaching agreement and privacy notice first (POST /api/v1/me/consent)."
                        ),
                        code="consent_required",
                    )
            return view(*args, **kwargs)

        if (not roles or Role.PATIENT in roles) and f"api.{view.__name__}" not in CONSENT_FREE_ENDPOINTS:
            wrapped = problems("consent_required")(wrapped)
        # A route for some roles answers the others 403.
        return problems("forbidden")(wrapped) if roles else wrapped  # type: ignore[return-value]

    return decorator


class InvalidCursor(BadInput):
    """A cursor the API did not give out."""


@bp.errorhandler(InvalidCursor)
def _invalid_cursor(error: InvalidCursor):
    return problem(400, str(error), code="invalid_cursor")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset an opaque cursor stands for; a forged cursor is BadInput."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(_("This cursor is not valid. Start again from the first page.")) from None
    kind, _sep, number = raw.partition(":")
    if kind != "o" or not number.isdigit() or len(number) > 9:
        raise InvalidCursor(_("This cursor is not valid. Start again from the first page."))
    return int(number)


def page_of(query, cursor: str | None, limit: int) -> tuple[list, str | None]:
    """One page of a select (ordered by the caller) and the cursor of the next page, if any."""
    offset = decode_cursor(cursor)
    return _cut(db.session.execute(query.offset(offset).limit(limit + 1)).all(), offset, limit)


def page_of_kept(statement, values: dict, cursor: str | None, limit: int) -> tuple[list, str | None]:
    """``page_of`` for a kept statement (``portal.sqlutil.KeptStatement``) that binds ``limit`` and ``offset``,
    run with ``values``."""
    offset = decode_cursor(cursor)
    return _cut(db.session.execute(statement, {**values, "limit": limit + 1, "offset": offset}).all(), offset, limit)


def _cut(rows, offset: int, limit: int) -> tuple[list, str | None]:
    """The page (at most ``limit`` of the ``limit + 1`` rows read) and the next page's cursor, if a row was left."""
    rows = list(rows)
    next_cursor = encode_cursor(offset + limit) if len(rows) > limit else None
    return rows[:limit], next_cursor


def api_of(app: Flask) -> PortalApi:
    """The app's API (its ``spec`` is the OpenAPI document)."""
    return app.extensions["flask-smorest"]["apis"][""]["ext_obj"]


def register_api(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Holistiq Coach API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": "The phone app's API. Sign in with POST /api/v1/auth/token, then send "
                "Authorization: Bearer <access_token>. Errors are RFC 9457 problem documents."
            },
            "security": [{"bearerAuth": []}],
        },
    )
    # One per app: the OpenAPI document is the app's (its error responses written by ProblemsPlugin).
    api = PortalApi(app, spec_kwargs={"extra_plugins": [ProblemsPlugin(app.config["PUBLIC_BASE_URL"])]})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    csrf.exempt(bp)  # bearer tokens are not sent by browsers on their own: no CSRF to defend against
    api.register_blueprint(bp)
