"""The coach's view of a patient's intake: the answers in words, the baseline PEG, the goals with their change
since the first rating, and, for a patient without a plan, the suggested program (portal.care.suggestions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from portal.auth.models import User
from portal.care import goals as goal_service
from portal.care import intake as intake_service
from portal.care.models import peg_score
from portal.care.onboarding_models import Intake
from portal.care.red_flags import RED_FLAGS
from portal.care.suggestions import Suggestion, suggest


@dataclass(frozen=True)
class IntakeReview:
    intake: Intake | None
    answers: list[intake_service.AnswerInWords]
    safety_yes: list[str]  # the safety questions answered "yes", as the coach reads them
    peg: tuple[int, int, int] | None
    peg_score: float | None
    goals: list[goal_service.GoalState]
    suggestion: Suggestion | None
    goals_text: str  # the activities, for the plan's goals when the coach assigns the suggestion

    @property
    def finished_on(self) -> date | None:
        return self.intake.finished_on if self.intake is not None else None


def intake_review(patient: User, has_plan: bool) -> IntakeReview:
    """Everything the "Intake" section shows, in three statements at most (intake, goals, programs)."""
    intake = intake_service.intake_for(patient.id)
    answers = (intake.answers or {}) if intake is not None else {}
    peg = intake_service.baseline_peg(intake)
    goals = goal_service.goals_today(patient.id).goals
    finished = intake is not None and intake.finished_at is not None
    return IntakeReview(
        intake=intake,
        answers=intake_service.answers_in_words(intake),
        safety_yes=[str(flag.label) for flag in RED_FLAGS if answers.get(flag.field) is True],
        peg=peg,
        peg_score=peg_score(*peg) if peg else None,
        goals=goals,
        suggestion=suggest(answers) if finished and not has_plan else None,
        goals_text="; ".join(goal.activity for goal in goals),
    )
