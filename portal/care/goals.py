"""The patient's own goals: the Patient-Specific Functional Scale (PSFS).

The patient names up to three activities they find hard because of their back and rates
each from 0 ("unable to do") to 10 ("able to do as before the problem"). They name them
at the end of the intake, and every ``RERATE_DAYS`` days Today asks them to rate the same
activities again (retiring one and naming another is allowed). A change of
``CHANGE_POINTS`` or more against an activity's first rating is clinically important and
is marked for the coach. The caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam

from portal import audit
from portal.auth.models import User
from portal.care.checkins import patient_today
from portal.care.intake import GOALS_STEP, StepNotOpen, intake_for, is_open, mark_finished
from portal.care.onboarding_models import Goal, GoalRating, Intake
from portal.extensions import db
from portal.forms import is_one_line
from portal.sqlutil import KeptStatement, insert_for
from portal.timeutil import utcnow

MAX_GOALS = 3
MAX_ACTIVITY = 80
RERATE_DAYS = 14
CHANGE_POINTS = 2
LOW_LABEL = _l("0 = unable to do")
HIGH_LABEL = _l("10 = able to do as before the problem")


class GoalError(Exception):
    """Goals or ratings that cannot be saved: ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class NewActivity:
    activity: str
    score: int


def clean_activity(raw: object) -> tuple[str | None, str | None]:
    """(the activity, None) or (None, the message): one line, 1-80 characters."""
    if raw is None:
        return None, None
    if not isinstance(raw, str):
        return None, _("Write the activity as text.")
    text = raw.strip()
    if not text:
        return None, None
    if len(text) > MAX_ACTIVITY:
        return None, _("Keep the activity to %(n)s characters or fewer.", n=MAX_ACTIVITY)
    if not is_one_line(text):
        return None, _("Use one line of text, without line breaks, tabs or invisible characters.")
    return text, None


def clean_score(raw: object) -> tuple[int | None, str | None]:
    if isinstance(raw, str):
        raw = raw.strip()
        raw = int(raw) if raw.isdigit() and len(raw) <= 2 else raw
    if raw is None or raw == "":
        return None, _("Rate this activity from 0 to 10.")
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 10:
        return None, _("Choose a number from 0 to 10.")
    return raw, None


def clean_new_activities(entries: Sequence[Mapping[str, object]], prefix: str = "new") -> list[NewActivity]:
    """Activities named with their rating; blank rows are skipped; GoalError names each refused field."""
    errors: dict[str, str] = {}
    found: list[NewActivity] = []
    for n, entry in enumerate(entries):
        activity, problem = clean_activity(entry.get("activity"))
        if problem:
            errors[f"{prefix}-{n}-activity"] = problem
            continue
        if activity is None:
            if entry.get("score") not in (None, ""):
                errors[f"{prefix}-{n}-activity"] = _("Name the activity you rated.")
            continue
        score, problem = clean_score(entry.get("score"))
        if problem:
            errors[f"{prefix}-{n}-score"] = problem
            continue
        found.append(NewActivity(activity, score))
    if errors:
        raise GoalError(errors)
    return found


def active_goals(patient_id: int) -> list[Goal]:
    return list(
        db.session.scalars(
            db.select(Goal).where(Goal.patient_id == patient_id, Goal.retired_at.is_(None)).order_by(Goal.id)
        )
    )


def _rate(patient: User, goal: Goal, score: int, day: date) -> None:
    """Today's rating of one activity (a second rating the same day replaces the first)."""
    db.session.connection().execute(
        insert_for(GoalRating)
        .values(goal_id=goal.id, patient_id=patient.id, day=day, score=score, created_at=utcnow())
        .on_conflict_do_update(index_elements=["goal_id", "day"], set_={"score": score})
    )


def _add(patient: User, entry: NewActivity, day: date) -> Goal:
    goal = Goal(patient_id=patient.id, activity=entry.activity)
    db.session.add(goal)
    db.session.flush()
    _rate(patient, goal, entry.score, day)
    return goal


def finish_intake(patient: User, entries: Sequence[Mapping[str, object]]) -> Intake:
    """The intake's last step: name (or rename) up to three activities and rate them; finishes the intake.

    ``entries`` are the form's rows in order; row n stands for the patient's n-th active
    activity when there is one (sent again after going back), else for a new one.
    """
    intake = intake_for(patient.id)
    if not is_open(intake, GOALS_STEP):
        raise StepNotOpen()
    if len(entries) > MAX_GOALS:
        raise GoalError({f"new-{MAX_GOALS}-activity": _("Name up to %(n)s activities.", n=MAX_GOALS)})
    named = clean_new_activities(entries)
    if not named:
        raise GoalError({"new-0-activity": _("Name at least one activity that is hard because of your back.")})
    day = patient_today(patient)
    existing = active_goals(patient.id)
    kept = iter(existing)
    for entry in named:
        goal = next(kept, None)
        if goal is None:
            _add(patient, entry, day)
            continue
        goal.activity = entry.activity
        _rate(patient, goal, entry.score, day)
    for goal in kept:
        goal.retired_at = utcnow()
    assert intake is not None  # is_open() of the last step needs every earlier step saved
    mark_finished(patient, intake)
    db.session.flush()
    return intake


def rating_due(last_rated: date | None, today: date) -> bool:
    """Whether Today offers "Rate your activities": the newest rating is RERATE_DAYS old or more."""
    return last_rated is not None and (today - last_rated).days >= RERATE_DAYS


def rate_activities(
    patient: User,
    ratings: Mapping[int, object],
    retire: set[int],
    new: Sequence[Mapping[str, object]],
) -> list[Goal]:
    """Rate every kept activity again, retire some, name new ones (up to three in all). All or nothing.

    ``ratings`` maps an active goal's id to its new rating; a goal id that is not one of
    the patient's active activities is refused like any other bad field.
    """
    goals = {goal.id: goal for goal in active_goals(patient.id)}
    errors: dict[str, str] = {}
    for goal_id in set(ratings) | retire:
        if goal_id not in goals:
            errors[f"goal-{goal_id}"] = _("This activity is not one of yours.")
    scores: dict[int, int] = {}
    for goal_id in goals:
        if goal_id in retire:
            continue
        score, problem = clean_score(ratings.get(goal_id))
        if problem:
            errors[f"goal-{goal_id}"] = problem
        else:
            scores[goal_id] = score  # type: ignore[assignment]
    try:
        added = clean_new_activities(new)
    except GoalError as error:
        errors.update(error.errors)
        added = []
    if len(goals) - len(retire & set(goals)) + len(added) > MAX_GOALS:
        errors["new-0-activity"] = _("Keep to %(n)s activities: retire one before naming another.", n=MAX_GOALS)
    if not errors and not scores and not added:
        errors["new-0-activity"] = _("Keep at least one activity, or name a new one.")
    if errors:
        raise GoalError(errors)
    day = patient_today(patient)
    for goal_id, score in scores.items():
        _rate(patient, goals[goal_id], score, day)
    for goal_id in retire:
        goals[goal_id].retired_at = utcnow()
    for entry in added:
        _add(patient, entry, day)
    audit.record("goals.rate", patient, patient=patient, activities=len(scores) + len(added))
    db.session.flush()
    return active_goals(patient.id)


# --- reading -------------------------------------------------------------------


@dataclass(frozen=True)
class GoalState:
    id: int
    activity: str
    latest: int | None
    latest_day: date | None
    first: int | None = None
    first_day: date | None = None

    @property
    def change(self) -> int | None:
        return None if self.latest is None or self.first is None else self.latest - self.first

    @property
    def important(self) -> bool:
        """A change against the first rating that matters to the patient (PSFS: 2 points)."""
        return self.change is not None and abs(self.change) >= CHANGE_POINTS


@dataclass(frozen=True)
class TodayGoals:
    intake_steps_done: int
    intake_finished: bool
    goals: list[GoalState]

    @property
    def last_rated(self) -> date | None:
        days = [goal.latest_day for goal in self.goals if goal.latest_day is not None]
        return max(days) if days else None


def _rating_of(order, column):
    return (
        db.select(column)
        .where(GoalRating.goal_id == Goal.id)
        .order_by(order)
        .limit(1)
        .correlate(Goal)
        .scalar_subquery()
    )


def _build_today_goals():
    steps = db.select(Intake.steps_done).where(Intake.patient_id == User.id).correlate(User).scalar_subquery()
    finished = db.select(Intake.finished_at).where(Intake.patient_id == User.id).correlate(User).scalar_subquery()
    return (
        db.select(
            steps,
            finished,
            Goal.id,
            Goal.activity,
            _rating_of(GoalRating.day.desc(), GoalRating.score),
            _rating_of(GoalRating.day.desc(), GoalRating.day),
            _rating_of(GoalRating.day.asc(), GoalRating.score),
            _rating_of(GoalRating.day.asc(), GoalRating.day),
        )
        .select_from(User)
        .outerjoin(Goal, and_(Goal.patient_id == User.id, Goal.retired_at.is_(None)))
        .where(User.id == bindparam("patient_id"))
        .order_by(Goal.id)
    )


_today_goals = KeptStatement(_build_today_goals)


def goals_today(patient_id: int) -> TodayGoals:
    """The intake's state and the active activities with their first and latest ratings, in one statement."""
    rows = db.session.connection().execute(_today_goals(), {"patient_id": patient_id}).all()
    steps = rows[0][0] if rows else None
    finished = rows[0][1] if rows else None
    goals = [
        GoalState(goal_id, activity, latest, latest_day, first, first_day)
        for _s, _f, goal_id, activity, latest, latest_day, first, first_day in rows
        if goal_id is not None
    ]
    return TodayGoals(steps or 0, finished is not None, goals)


class RatedGoal(NamedTuple):
    """An activity as the progress chart and table show it (retired ones too)."""

    id: int
    activity: str
    retired_at: datetime | None


class Rating(NamedTuple):
    day: date
    score: int


# My progress reads it on every visit: kept, with the patient bound per request. Plain rows, not
# ORM objects: the page only prints them, and loading a goal and each rating as objects cost more
# than the statement.
def _build_rating_history():
    return (
        db.select(Goal.id, Goal.activity, Goal.retired_at, GoalRating.day, GoalRating.score)
        .outerjoin(GoalRating, GoalRating.goal_id == Goal.id)
        .where(Goal.patient_id == bindparam("patient_id"))
        .order_by(Goal.id, GoalRating.day, GoalRating.id)
    )


_rating_history = KeptStatement(_build_rating_history)


def rating_history(patient_id: int) -> list[tuple[RatedGoal, list[Rating]]]:
    """Every activity (retired ones too) with its ratings oldest first, for the progress chart and table."""
    history: list[tuple[RatedGoal, list[Rating]]] = []
    for goal_id, activity, retired_at, day, score in db.session.execute(_rating_history(), {"patient_id": patient_id}):
        if not history or history[-1][0].id != goal_id:
            history.append((RatedGoal(goal_id, activity, retired_at), []))
        if day is not None:
            history[-1][1].append(Rating(day, score))
    return history


def goal_chart_data(history: list[tuple[RatedGoal, list[Rating]]]) -> dict:
    """The JSON the goals chart draws: the days anything was rated, and one series per activity."""
    days = sorted({rating.day for _goal, ratings in history for rating in ratings})
    series = []
    for goal, ratings in history:
        if not ratings:
            continue
        by_day = {rating.day: rating.score for rating in ratings}
        series.append({"label": goal.activity, "data": [by_day.get(day) for day in days]})
    return {"goals": {"labels": [day.isoformat() for day in days], "series": series}}
