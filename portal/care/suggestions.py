"""Which starter program to suggest from a patient's intake: one small table of rules, read top to bottom.

The first rule whose every condition the intake's answers meet names the program; the
reasons shown to the coach are the patient's own answers those conditions looked at, in
words ("pain for less than 6 weeks, low back, mostly sitting"). A rule whose program is
missing or archived is skipped. It is a suggestion: the coach assigns any program they like.
The README lists the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _

from portal.care.intake import ACTIVITY, POSTURE, QUESTIONS, SINCE, WHERE
from portal.care.models import Program
from portal.extensions import db


@dataclass(frozen=True)
class SuggestionRule:
    program_slug: str
    when: tuple[tuple[str, frozenset[str]], ...]  # (question, the answers that match); all must hold


def _is(question, *codes: str) -> tuple[str, frozenset[str]]:
    return question.name, frozenset(codes)


ACUTE = _is(SINCE, "under_6_weeks")
SEATED = _is(POSTURE, "sitting", "driving")

SUGGESTION_RULES: tuple[SuggestionRule, ...] = (
    # A recent low or middle back pain in someone who sits or drives most of the day.
    SuggestionRule("desk-worker-posture-reset", (ACUTE, _is(WHERE, "low_back", "middle_back"), SEATED)),
    # Any other recent pain: calm the flare first.
    SuggestionRule("flare-first-two-weeks", (ACUTE,)),
    # Longer-standing pain, by what the days involve.
    SuggestionRule("safe-lifting-at-work-and-home", (_is(POSTURE, "lifting"),)),
    SuggestionRule("desk-worker-posture-reset", (SEATED,)),
    SuggestionRule("walking-and-return-to-activity", (_is(ACTIVITY, "inactive", "light"),)),
    # Everyone else: build strength.
    SuggestionRule("core-stability-builder", ()),
)


def matching_rules(answers: Mapping[str, object]) -> list[SuggestionRule]:
    """Every rule the answers meet, in the table's order."""
    return [rule for rule in SUGGESTION_RULES if all(answers.get(name) in codes for name, codes in rule.when)]


def reasons_for(rule: SuggestionRule, answers: Mapping[str, object]) -> list[str]:
    """The patient's answers that the rule looked at, in words."""
    reasons = []
    # The catch-all rule looked at nothing in particular: say how long and where instead.
    looked_at = [name for name, _codes in rule.when] or [q.name for q in (SINCE, WHERE) if q.name in answers]
    for name in looked_at:
        words = QUESTIONS[name].choice_label(str(answers[name]))
        reasons.append(_("pain for %(how_long)s", how_long=words.lower()) if name == SINCE.name else words.lower())
    return reasons


@dataclass(frozen=True)
class Suggestion:
    program: Program
    reasons: list[str]


def suggest(answers: Mapping[str, object] | None) -> Suggestion | None:
    """The suggested program for these intake answers (None without answers or without any program of the table)."""
    if not answers:
        return None
    rules = matching_rules(answers)
    if not rules:
        return None
    programs = {
        program.slug: program
        for program in db.session.scalars(
            db.select(Program).where(
                Program.slug.in_({rule.program_slug for rule in rules}), Program.is_active.is_(True)
            )
        )
    }
    for rule in rules:
        program = programs.get(rule.program_slug)
        if program is not None:
            return Suggestion(program, reasons_for(rule, answers))
    return None
