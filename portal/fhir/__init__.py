"""FHIR R4 export: a patient's record as a Bundle, and the practice's bulk export as NDJSON."""
