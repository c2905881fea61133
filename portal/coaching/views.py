"""Routes of this feature (see the package docstring)."""

from portal.coaching import bp  # noqa: F401
