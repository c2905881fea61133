"""Routes of this feature (see the package docstring)."""

from portal.messaging import bp  # noqa: F401
