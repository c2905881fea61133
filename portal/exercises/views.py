"""Routes of this feature (see the package docstring)."""

from portal.exercises import bp  # noqa: F401
