"""Routes of this feature (see the package docstring)."""

from portal.patients import bp  # noqa: F401
