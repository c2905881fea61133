"""The red-flag safety questions and their three tiers: one definition for the check-in form, the advice the
patient sees, the alert (its severity, whether it pauses the exercises, when it escalates), the API, FHIR and
exports.

Each question belongs to one tier:

* **Emergency** (loss of bladder or bowel control or saddle numbness; sudden leg or foot weakness): call 911 or go
  to the nearest emergency room now. Alert severity "Emergency"; the exercises pause.
* **Today** (new numbness or tingling; trouble walking or standing; a recent fall or injury; fever with back pain):
  call the clinic today. Alert severity "Urgent"; the exercises pause.
* **Soon** (pain that stops daily activities): the coach contacts the patient within one working day. Alert
  severity "Attention"; the exercises stay available.

The highest tier answered wins (``highest_tier``); the advice shown is that tier's only. The advice's words live
in ``TIER_RULES`` and the template ``patients/_safety.html`` lays them out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Tier(StrEnum):
    """A red flag's tier, as stored on the alert (``Alert.tier``) and sent by the API."""

    EMERGENCY = "emergency"
    TODAY = "today"
    SOON = "soon"


@dataclass(frozen=True)
class TierRule:
    """What a tier means: its rank (higher wins), the alert's severity word, whether the exercises pause,
    which setting gives the minutes before an unacknowledged alert escalates, and the advice's words."""

    tier: Tier
    rank: int
    severity: str  # the alert's severity, a fixed English word for the API and exports: Emergency, Urgent, Attention
    severity_label: object  # the same, translated, for people
    pauses_exercises: bool
    escalation_setting: str | None  # config key of the minutes before escalation; None: no escalation
    heading: object  # the advice's heading, the first thing the patient reads
    advice: object  # one sentence under the heading


TIER_RULES: dict[Tier, TierRule] = {
    Tier.EMERGENCY: TierRule(
        Tier.EMERGENCY,
        3,
        "Emergency",
        _l("Emergency"),
        True,
        "SAFETY_ESCALATION_MINUTES",
        _l("Call 911 or go to the nearest emergency room now"),
        _l(
            "What you reported can be a sign of a serious problem with the nerves in your back. It needs a doctor "
            "right away. Do not wait for your coach, and do not drive yourself."
        ),
    ),  # fmt: skip
    Tier.TODAY: TierRule(
        Tier.TODAY,
        2,
        "Urgent",
        _l("Urgent"),
        True,
        "URGENT_ESCALATION_MINUTES",
        _l("Call your clinic today"),
        _l(
            "What you reported needs a clinician to look at it today. Your coach has been told, but please call "
            "the clinic yourself."
        ),
    ),  # fmt: skip
    Tier.SOON: TierRule(
        Tier.SOON,
        1,
        "Attention",
        _l("Attention"),
        False,
        None,
        _l("Your coach will contact you within one working day"),
        _l("Keep doing what feels comfortable. If the pain gets worse or a new symptom starts, call your clinic."),
    ),
}
TIERS_BY_RANK = tuple(sorted(TIER_RULES, key=lambda tier: TIER_RULES[tier].rank, reverse=True))  # Emergency first


@dataclass(frozen=True)
class RedFlag:
    field: str  # the CheckIn column holding the answer
    question: str  # as the patient is asked it
    label: str  # as the coach reads it in an alert
    tier: Tier


RED_FLAGS = (
    RedFlag(
        "rf_bladder_bowel",
        _l("Loss of bladder or bowel control, or numbness in your groin or inner thighs?"),
        _l("bladder/bowel control loss or saddle numbness"),
        Tier.EMERGENCY,
    ),
    RedFlag(
        "rf_leg_weakness",
        _l("Sudden weakness in a leg or foot, or a leg giving way?"),
        _l("sudden leg or foot weakness"),
        Tier.EMERGENCY,
    ),
    RedFlag(
        "rf_numbness",
        _l("New numbness or tingling in your legs?"),
        _l("new numbness or tingling in the legs"),
        Tier.TODAY,
    ),
    RedFlag("rf_walking", _l("Trouble walking or standing?"), _l("trouble walking or standing"), Tier.TODAY),
    RedFlag("rf_fall_injury", _l("A recent fall or injury?"), _l("a recent fall or injury"), Tier.TODAY),
    RedFlag(
        "rf_fever",
        _l("Fever, chills or feeling unwell along with your back pain?"),
        _l("fever, chills or feeling unwell"),
        Tier.TODAY,
    ),
    RedFlag(
        "rf_activity_stopping",
        _l("Pain that stops you from doing your daily activities?"),
        _l("pain stopping daily activities"),
        Tier.SOON,
    ),
)

RED_FLAG_FIELDS = tuple(flag.field for flag in RED_FLAGS)
# (field, question) pairs in the order the check-in asks them, for templates.
RED_FLAG_QUESTIONS = tuple((flag.field, flag.question) for flag in RED_FLAGS)
RED_FLAG_LABELS = {flag.field: flag.label for flag in RED_FLAGS}
RED_FLAG_TIERS = {flag.field: flag.tier for flag in RED_FLAGS}


def answered_yes(record: object) -> list[RedFlag]:
    """The red flags a check-in (or anything with the same attributes) answered "yes" to."""
    return [flag for flag in RED_FLAGS if getattr(record, flag.field)]


def highest_of(tiers: Iterable[Tier | str | None]) -> Tier | None:
    """The highest of these tiers (None when there is none): the one whose advice shows and whose alert opens."""
    best: Tier | None = None
    for value in tiers:
        if not value:
            continue
        tier = Tier(value)
        if best is None or TIER_RULES[tier].rank > TIER_RULES[best].rank:
            best = tier
    return best


def highest_tier(record: object) -> Tier | None:
    """The tier of a check-in's answers: the highest tier among the questions answered "yes", None without one."""
    return highest_of(flag.tier for flag in answered_yes(record))


def tier_rule(tier: Tier | str | None) -> TierRule | None:
    """The rule of a tier (stored as its value), None for no tier."""
    return TIER_RULES[Tier(tier)] if tier else None
