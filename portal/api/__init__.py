"""The JSON API (/api/v1) for phone apps, described by an OpenAPI 3.1 document generated from the code."""
