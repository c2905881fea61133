"""The red-flag safety questions: one definition for the check-in form, the alert rule and the coach's pages.

A "yes" to any of them means the patient needs a clinician soon; the advice the
patient then sees is the template ``patients/_safety.html``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class RedFlag:
    field: str  # the CheckIn column holding the answer
    question: str  # as the patient is asked it
    label: str  # as the coach reads it in an alert


RED_FLAGS = (
    RedFlag("rf_numbness", _l("New numbness or tingling in your legs?"), _l("new numbness or tingling in the legs")),
    RedFlag("rf_walking", _l("Trouble walking or standing?"), _l("trouble walking or standing")),
    RedFlag(
        "rf_bladder_bowel",
        _l("Loss of bladder or bowel control, or numbness in your groin or inner thighs?"),
        _l("bladder/bowel control loss or saddle numbness"),
    ),
    RedFlag("rf_fall_injury", _l("A recent fall or injury?"), _l("a recent fall or injury")),
    RedFlag(
        "rf_activity_stopping",
        _l("Pain that stops you from doing your daily activities?"),
        _l("pain stopping daily activities"),
    ),
)

RED_FLAG_FIELDS = tuple(flag.field for flag in RED_FLAGS)
# (field, question) pairs in the order the check-in asks them, for templates.
RED_FLAG_QUESTIONS = tuple((flag.field, flag.question) for flag in RED_FLAGS)
RED_FLAG_LABELS = {flag.field: flag.label for flag in RED_FLAGS}


def answered_yes(record: object) -> list[RedFlag]:
    """The red flags a check-in (or anything with the same attributes) answered "yes" to."""
    return [flag for flag in RED_FLAGS if getattr(record, flag.field)]
