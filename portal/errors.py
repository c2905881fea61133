"""Error pages in the portal's style (HTML, or JSON for JSON clients)."""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from portal.extensions import db, login_manager

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Something in the request was not right"), _l("Please check what you entered and try again.")),
    401: (_l("Please log in"), _l("You need to log in to see this page.")),
    403: (_l("Not available to your account"), _l("Your account does not have access to this page.")),
    404: (_l("Page not found"), _l("We could not find that page. It may have moved, or the link may be mistyped.")),
    405: (_l("That action is not allowed here"), _l("This page does not accept that kind of request.")),
    409: (
        _l("This changed since you opened it"),
        _l("Someone else saved a change first. Reload to see the latest version."),
    ),
    413: (_l("That was too large"), _l("What you sent is larger than we accept. Please send something smaller.")),
    422: (_l("Something in the form was not right"), _l("Please check what you entered and try again.")),
    429: (_l("Too many attempts"), _l("Please wait a minute before trying again.")),
    500: (_l("Something went wrong on our side"), _l("We have been told about it. Please try again in a moment.")),
    503: (
        _l("The portal is briefly unavailable"),
        _l("We cannot reach our records right now. Please try again in a minute."),
    ),
}


class NotFound(LookupError):
    """A service found no such object for this user: answered as 404, so it does not reveal that it exists."""


class BadInput(ValueError):
    """A value from the request that a service refuses: answered as 400 with the error's message."""


class NotAllowed(PermissionError):
    """A service refused an action on an object the user may see: answered as 403."""


# Where each problem type's page lives: ``type`` is PUBLIC_BASE_URL + this + the problem's code.
PROBLEM_PATH = "/api/v1/problems/"
# The code of a problem that has no more specific one: one per HTTP status.
STATUS_PROBLEMS = {
    400: "bad_request",
    401: "sign_in_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_failed",
    429: "rate_limited",
    500: "server_error",
    503: "service_unavailable",
}


def problem_type(code: str, base_url: str | None = None) -> str:
    """The stable URI naming a problem code (its explanation page)."""
    base = base_url if base_url is not None else current_app.config["PUBLIC_BASE_URL"]
    return f"{base.rstrip('/')}{PROBLEM_PATH}{code}"


def status_title(status: int) -> str:
    """The HTTP status phrase in English ("Conflict"): a problem's ``title``, the same in every language."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return HTTPStatus.INTERNAL_SERVER_ERROR.phrase


def problem(
    status: int, detail: str | None = None, *, code: str | None = None, errors: list[dict] | None = None
) -> Response:
    """An RFC 9457 problem document (application/problem+json): the API's one shape for every error.

    ``code`` is the machine-readable reason (``item_paused``, ``two_step_code_wrong``); without
    one, the status's own (``not_found``). ``type`` is the code's page, ``title`` the status
    phrase in English, ``detail`` the explanation in the reader's language.
    """
    code = code or STATUS_PROBLEMS.get(status, STATUS_PROBLEMS[500])
    text = str(MESSAGES.get(status, MESSAGES[500])[1])
    body: dict = {
        "type": problem_type(code),
        "code": code,
        "title": status_title(status),
        "status": status,
        "detail": str(detail) if detail else text,
    }
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def render_error(code: int, detail: str | None = None):
    # The table holds lazy strings: made text here, in the request's language.
    if request.path.startswith("/api/"):
        return problem(code, detail)
    title, text = (str(part) for part in MESSAGES.get(code, MESSAGES[500]))
    detail = str(detail) if detail else None
    if request.accept_mimetypes.best == "application/json":
        return {"error": title, "detail": detail or text}, code
    return render_template("errors/error.html", code=code, title=title, text=detail or text), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, _("Your form expired or was sent from elsewhere. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        if code not in MESSAGES:
            return error
        detail = (
            error.description
            if code in (400, 409, 422) and error.description and not error.description.startswith("The browser")
            else None
        )
        return render_error(code, detail)

    @app.errorhandler(NotFound)
    def not_found(error: NotFound):
        return render_error(404)

    @app.errorhandler(BadInput)
    def bad_input(error: BadInput):
        return render_error(400, str(error))

    @app.errorhandler(NotAllowed)
    def not_allowed(error: NotAllowed):
        return render_error(403)

    @app.errorhandler(StaleDataError)
    def stale(error: StaleDataError):
        db.session.rollback()
        return render_error(409)

    @app.errorhandler(DataError)
    def bad_data(error: DataError):
        # A value the database refuses (a NUL byte, an out-of-range number) that a form let through:
        # the request was bad, nothing was stored.
        log.warning("Database refused a value: %s", type(error.orig).__name__)
        db.session.rollback()
        return render_error(400)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_down(error: Exception):
        log.error("Database unavailable: %s", type(error).__name__)
        db.session.rollback()
        # Go on as anonymous: loading the signed-in user (navigation, headers) needs the database.
        g._login_user = login_manager.anonymous_user()
        if request.endpoint == "auth.healthz":  # failed while loading a signed-in user: same answer
            return {"status": "unavailable", "database": "down"}, 503
        if request.method not in ("GET", "HEAD"):
            # The transaction was rolled back whole: say plainly that nothing was kept.
            return render_error(
                503, _("We could not reach our records, so what you sent was not saved. Please try again in a minute.")
            )
        return render_error(503)

    @app.errorhandler(500)
    def server_error(error: Exception):
        db.session.rollback()
        return render_error(500)
