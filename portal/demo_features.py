"""Imports the feature modules that register demo seeding steps (in order)."""

# Issue 4: library, starter programs, then a plan per demo patient (coaching.demo imports
# exercises.demo first, so the library step always runs before the programs step).
import portal.coaching.demo  # noqa: F401
import portal.exercises.demo  # noqa: F401

# Issue 7: a short patient-coach conversation.
import portal.messaging.demo  # noqa: F401

# Issue 5: check-in history, item logs, weekly checks and the alerts they raise (needs the plans).
import portal.patients.demo  # noqa: F401
