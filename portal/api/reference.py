"""A readable reference page for the API, rendered on the server from the OpenAPI document.

Rendered here rather than by ReDoc or Swagger UI: both inject inline styles at run
time, which the portal's strict Content-Security-Policy refuses. The page is built
from the same document as /api/v1/openapi.json, so it cannot drift from it.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from portal.api.blueprint import PREFIX, api_of
from portal.api.problems import PROBLEM_MEDIA_TYPE, PROBLEMS
from portal.errors import problem_type, status_title

# A plain blueprint: the page is not an operation of the API it describes.
reference_bp = Blueprint("api_reference", __name__, url_prefix=PREFIX)

_METHODS = ("get", "post", "put", "patch", "delete")


def _schema(spec: dict, ref_or_schema: dict) -> dict:
    ref = ref_or_schema.get("$ref")
    if ref:
        return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return ref_or_schema


def _field(prop: dict, required: bool) -> dict:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = " | ".join(kind)
    low, high = prop.get("minimum"), prop.get("maximum")
    bounds = f"{low}–{high}" if low is not None and high is not None else ""
    if prop.get("enum"):
        bounds = ", ".join(str(v) for v in prop["enum"] if v is not None)
    return {"type": kind or "", "required": required, "range": bounds}


def operations(spec: dict) -> list[dict]:
    result = []
    for path, item in spec["paths"].items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = []
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if content:
                schema = _schema(spec, content["schema"])
                required = set(schema.get("required", []))
                body = [(name, _field(prop, name in required)) for name, prop in schema.get("properties", {}).items()]
            result.append(
                {
                    "anchor": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "public": op.get("security") == [],
                    "parameters": item.get("parameters", []) + op.get("parameters", []),
                    "body": body,
                    "responses": [
                        (
                            code,
                            r.get("description", ""),
                            sorted(r.get("content", {}).get(PROBLEM_MEDIA_TYPE, {}).get("examples", {})),
                        )
                        for code, r in op.get("responses", {}).items()
                    ],
                }
            )
    return result


@reference_bp.route("/docs")
def reference():
    return render_template("api/reference.html", operations=operations(api_of(current_app).spec.to_dict()))


def _problem_entry(code: str) -> dict:
    entry = PROBLEMS[code]
    return {
        "code": code,
        "status": entry.status,
        "title": status_title(entry.status),
        "type": problem_type(code),
        "explanation": str(entry.explanation),  # text, escaped by the template (a lazy string counts as markup)
    }


@reference_bp.route("/problems")
def problem_index():
    """Every problem code the API answers with, and what each means."""
    entries = sorted((_problem_entry(code) for code in PROBLEMS), key=lambda e: (e["status"], e["code"]))
    return render_template("api/problems.html", entries=entries)


@reference_bp.route("/problems/<code>")
def problem_page(code: str):
    """The page a problem document's ``type`` points at: what the code means and what to do."""
    if code not in PROBLEMS:
        abort(404)
    return render_template("api/problem.html", entry=_problem_entry(code))
