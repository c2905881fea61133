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
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

from portal import jsonbody
from portal.auth import sessions
from portal.auth.models import SessionKind, User
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
        """The body as webargs reads it, but with over-deep nesting and lone surrogates refused as bad JSON."""
        if not is_json_request(req):
            return missing
        return jsonbody.loads(req.get_data(cache=True))


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()


bp = ApiBlueprint("api", __name__, url_prefix=PREFIX, description="Holistiq Coach API")


class ProblemFieldSchema(Schema):
    field = fields.String(required=True)
    location = fields.String(required=True)
    message = fields.String(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details; ``errors`` lists each refused field for a 422."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.List(fields.Nested(ProblemFieldSchema))


class PortalApi(Api):
    """flask-smorest's Api, without its app-wide error handler: the pages keep their HTML errors."""

    ERROR_SCHEMA = ProblemSchema

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
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    if code == 422 and "messages" in data:
        return problem(422, _("Some fields were not right."), errors=_field_errors(data["messages"]))
    if code == 400 and request.is_json is False and request.method in ("POST", "PUT", "PATCH"):
        return problem(400, _("Send the body as JSON (Content-Type: application/json)."))
    detail = error.description if code in (400, 409, 422) and error.description else None
    return problem(code, detail)


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
    return problem(409)


@bp.errorhandler(DataError)
def _data_error(error: DataError):
    db.session.rollback()
    return problem(400)


def unauthorized(detail: str):
    response = problem(401, detail)
    response.headers["WWW-Authenticate"] = 'Bearer realm="api", error="invalid_token"'
    return response


def bearer_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


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
                return unauthorized(_("Sign in first: send an access token as Authorization: Bearer <token>."))
            resumed = sessions.resume(secret, kind=SessionKind.API_ACCESS)
            if sessions.needs_commit(resumed.session):
                db.session.commit()
            if resumed.session is None:
                return unauthorized(_("This access token has expired or was revoked. Refresh it or sign in again."))
            user: User = resumed.session.user
            g.api_user = user
            g.api_session = resumed.session
            if roles and user.role not in roles:
                return problem(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset an opaque cursor stands for; a forged cursor is BadInput."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadInput(_("This cursor is not valid. Start again from the first page.")) from None
    kind, _sep, number = raw.partition(":")
    if kind != "o" or not number.isdigit() or len(number) > 9:
        raise BadInput(_("This cursor is not valid. Start again from the first page."))
    return int(number)


def page_of(query, cursor: str | None, limit: int) -> tuple[list, str | None]:
    """One page of a select (ordered by the caller) and the cursor of the next page, if any."""
    offset = decode_cursor(cursor)
    rows = list(db.session.execute(query.offset(offset).limit(limit + 1)).all())
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
    api = PortalApi(app)  # one per app: the OpenAPI document is the app's
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    csrf.exempt(bp)  # bearer tokens are not sent by browsers on their own: no CSRF to defend against
    api.register_blueprint(bp)
