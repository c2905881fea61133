"""The API's problem codes: one catalogue for the answers, the OpenAPI document and the explanation pages.

Every error the API sends is a problem document whose ``code`` is one of PROBLEMS and whose
``type`` is that code's page (/api/v1/problems/<code>). Operations declare the codes they can
answer with ``problems(...)``; the codes every operation of a kind shares (a bearer token's,
a JSON body's, a path id's) are added by ``ProblemsPlugin``, which writes each operation's
error responses into the OpenAPI document as ``application/problem+json``, one example per
code. An operation's ``operationId`` is its view's name in camelCase (``get_today`` → ``getToday``)
unless the view names another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apispec import BasePlugin
from flask_babel import lazy_gettext as _l

from portal.errors import problem_type, status_title

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA_REF = {"$ref": "#/components/schemas/Problem"}
# A key the views' docs carry to the plugin (removed from the published document).
CODES_KEY = "x-problem-codes"


@dataclass(frozen=True)
class ProblemCode:
    status: int
    explanation: Any  # a lazy string: what happened, and what the app should do


PROBLEMS: dict[str, ProblemCode] = {
    # one per status, when nothing more specific applies
    "bad_request": ProblemCode(400, _l("The request could not be used as sent. The detail says what to change.")),
    "sign_in_required": ProblemCode(
        401,
        _l("No access token was sent. Sign in with POST /api/v1/auth/token and send Authorization: Bearer <token>."),
    ),
    "forbidden": ProblemCode(403, _l("This account's role cannot use this operation (a coach's route as a patient).")),
    "not_found": ProblemCode(
        404, _l("Nothing with this id exists for this account. Objects of other patients or coaches answer the same.")
    ),
    "method_not_allowed": ProblemCode(405, _l("This path does not take this HTTP method.")),
    "conflict": ProblemCode(409, _l("The request conflicts with the current state. Fetch it again, then retry.")),
    "too_large": ProblemCode(413, _l("The request body is larger than the server accepts.")),
    "validation_failed": ProblemCode(
        422, _l("Some fields were refused. `errors` lists each one with its location and a message to show.")
    ),
    "rate_limited": ProblemCode(429, _l("Too many attempts. Wait a minute before trying again.")),
    "server_error": ProblemCode(500, _l("Something failed on the server. Nothing was saved; try again later.")),
    "service_unavailable": ProblemCode(
        503, _l("The server cannot reach its records right now. Nothing was saved; try again in a minute.")
    ),
    # reading the request
    "invalid_json": ProblemCode(
        400,
        _l(
            "The body is not JSON the API can read: it does not parse, is not UTF-8, holds a lone "
            "surrogate (\\ud800) or nests deeper than 32 levels."
        ),
    ),
    "json_required": ProblemCode(400, _l("Send the body as JSON, with Content-Type: application/json.")),
    "invalid_cursor": ProblemCode(
        400, _l("The cursor is not one the API gave out. Start again from the first page, without a cursor.")
    ),
    # signing in
    "invalid_credentials": ProblemCode(401, _l("The email or the password is wrong, or the account is locked.")),
    "two_step_code_required": ProblemCode(
        401, _l("This account signs in with a two-step code: send it as `code` with the email and password.")
    ),
    "two_step_code_wrong": ProblemCode(
        401, _l("The two-step code is wrong or was already used. Ask for the newest code from the authenticator app.")
    ),
    "two_step_setup_required": ProblemCode(
        403, _l("Two-step sign-in must be set up on the website before the app can sign this account in.")
    ),
    "access_token_invalid": ProblemCode(
        401,
        _l("The access token has expired, was revoked, or its sign-in ended. Refresh it, or sign in again."),
    ),
    "refresh_token_reused": ProblemCode(
        401,
        _l(
            "This refresh token was used before, so the whole sign-in was ended for safety: every token of it "
            "stops working. Sign in again."
        ),
    ),
    "session_ended": ProblemCode(
        401,
        _l("The sign-in this refresh token belongs to has ended (signed out, idle, too old). Sign in again."),
    ),
    # consent first
    "consent_required": ProblemCode(
        403,
        _l(
            "The patient has not agreed to their clinic's newest coaching agreement and privacy notice. "
            "Show them from GET /api/v1/me/consent and send the agreement with POST /api/v1/me/consent."
        ),
    ),
    "consent_version_changed": ProblemCode(
        409,
        _l(
            "The clinic published a new version of its texts after they were shown. Fetch GET /api/v1/me/consent, "
            "show the new texts and ask again."
        ),
    ),
    "consent_texts_missing": ProblemCode(
        409, _l("The patient's clinic has not published its consent texts yet; the patient should call the clinic.")
    ),
    "intake_step_not_open": ProblemCode(
        409,
        _l("An earlier step of the intake is not answered yet. GET /api/v1/me/intake names the next step to send."),
    ),
    # the care rules
    "item_paused": ProblemCode(
        409,
        _l(
            "This plan item is paused (by the coach, or after a red-flag answer until the coach resumes the "
            "exercises): it cannot be marked. Its `paused` field in GET /api/v1/me/today says why."
        ),
    ),
    "item_not_due": ProblemCode(409, _l("This plan item is not due today, so it cannot be marked today.")),
    "sessions_over_due": ProblemCode(
        422, _l("`sessions_done` is more than the sessions due today (`sessions_due`): send 0 to sessions_due.")
    ),
    "checkin_closed": ProblemCode(409, _l("Check-ins of earlier days can no longer be changed.")),
    "checkin_missing": ProblemCode(
        404, _l("There is no check-in today to update yet: create it with PUT /api/v1/me/checkins/today first.")
    ),
    "edit_conflict": ProblemCode(409, _l("Someone else saved a change first. Fetch the latest version and retry.")),
    "message_refused": ProblemCode(409, _l("The message cannot be sent (for example, no coach is assigned yet).")),
    "alert_closed": ProblemCode(409, _l("This alert was already resolved.")),
    "alert_not_acknowledgeable": ProblemCode(409, _l("This alert is already acknowledged or resolved.")),
    "item_not_paused": ProblemCode(
        409, _l("This plan item is not paused by the coach, so there is nothing to resume.")
    ),
    "idempotency_key_reused": ProblemCode(
        422,
        _l(
            "This Idempotency-Key was already used with a different request body. Use a new key for a new "
            "request, and the same key only to repeat the very same request."
        ),
    ),
}

# Codes every operation can answer, whatever it does.
COMMON_CODES = ("server_error", "service_unavailable", "rate_limited", "method_not_allowed")


def status_of(code: str) -> int:
    return PROBLEMS[code].status


def problems(*codes: str) -> Callable[[Callable], Callable]:
    """Declare the problem codes an operation answers beyond those the plugin adds by itself."""
    unknown = [code for code in codes if code not in PROBLEMS]
    if unknown:
        raise ValueError(f"unknown problem codes: {unknown}")

    def decorator(view: Callable) -> Callable:
        doc = dict(getattr(view, "_apidoc", {}))
        manual = dict(doc.get("manual_doc", {}))
        manual[CODES_KEY] = {**manual.get(CODES_KEY, {}), **dict.fromkeys(codes, True)}
        doc["manual_doc"] = manual
        view._apidoc = doc
        return view

    return decorator


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class ProblemsPlugin(BasePlugin):
    """Writes each operation's error responses (application/problem+json) and its operationId."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def example(self, code: str) -> dict:
        status = status_of(code)
        return {
            "summary": code,
            "value": {
                "type": problem_type(code, self.base_url),
                "code": code,
                "title": status_title(status),
                "status": status,
                "detail": str(PROBLEMS[code].explanation),
            },
        }

    def implied_codes(self, path: str, operation: dict) -> set[str]:
        codes = set(COMMON_CODES)
        if operation.get("security") != []:
            codes |= {"sign_in_required", "access_token_invalid"}
        if "{" in path:
            codes.add("not_found")
        if "requestBody" in operation:
            codes |= {"invalid_json", "json_required", "validation_failed", "too_large"}
        query = {
            p.get("name") for p in operation.get("parameters", []) if isinstance(p, dict) and p.get("in") == "query"
        }
        if query:
            codes.add("validation_failed")
        if "cursor" in query:
            codes.add("invalid_cursor")
        return codes

    def responses_for(self, codes: set[str]) -> dict[str, dict]:
        by_status: dict[int, list[str]] = {}
        for code in sorted(codes):
            by_status.setdefault(status_of(code), []).append(code)
        responses = {}
        for status, listed in sorted(by_status.items()):
            responses[str(status)] = {
                "description": f"{status_title(status)}: " + ", ".join(f"`{code}`" for code in listed),
                "content": {
                    PROBLEM_MEDIA_TYPE: {
                        "schema": PROBLEM_SCHEMA_REF,
                        "examples": {code: self.example(code) for code in listed},
                    }
                },
            }
        return responses

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:  # noqa: ARG002 - apispec's signature
        rule = kwargs.get("rule")
        endpoint = rule.endpoint.rsplit(".", 1)[-1] if rule is not None else None
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict):
                continue
            codes = set(operation.pop(CODES_KEY, {})) | self.implied_codes(path or "", operation)
            responses = operation.setdefault("responses", {})
            for key in [k for k in responses if str(k) == "default" or str(k)[0] in "45"]:
                del responses[key]
            responses.update(self.responses_for(codes))
            if endpoint and "operationId" not in operation:
                name = camel_case(endpoint)
                operation["operationId"] = name if len(operations) == 1 else f"{name}{method.capitalize()}"


def declared_codes(spec: dict, method: str, path: str, status: int) -> set[str]:
    """The problem codes the document lists for one operation and status (for the tests and clients)."""
    response = spec["paths"][path][method.lower()]["responses"].get(str(status), {})
    return set(response.get("content", {}).get(PROBLEM_MEDIA_TYPE, {}).get("examples", {}))
