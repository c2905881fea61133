"""The intake ("About your back") and the patient's goals (PSFS) through the API: the same services and checks as the pages.

A step's answers are checked as a whole by portal.care.intake (the last step, the
activities, by portal.care.goals); a refused answer is a 422 naming the field, a step
ahead of the first unanswered one a 409, and nothing is written either way.
"""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from portal.api.blueprint import bp, problem, token_required
from portal.api.problems import problems
from portal.api.schemas import UtcDateTime
from portal.auth.models import Role
from portal.care import goals as goal_service
from portal.care import intake as intake_service
from portal.care.checkins import patient_today
from portal.care.goals import GoalError
from portal.care.intake import GOALS_STEP, MULTI, IntakeError, StepNotOpen
from portal.extensions import db

patient_only = token_required(Role.PATIENT)


class ChoiceSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class QuestionSchema(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    kind = fields.String(
        required=True, metadata={"description": "single, multi (with `<name>_other`), scale or yes_no"}
    )
    choices = fields.List(fields.Nested(ChoiceSchema), required=True)
    tier = fields.String(allow_none=True, metadata={"description": "a safety question's tier"})


class StepSchema(Schema):
    number = fields.Integer(required=True)
    title = fields.String(required=True)
    questions = fields.List(fields.Nested(QuestionSchema), required=True)


class IntakeSchema(Schema):
    steps = fields.List(fields.Nested(StepSchema), required=True)
    answers = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)
    steps_done = fields.Integer(required=True)
    next_step = fields.Integer(required=True)
    finished_at = UtcDateTime(allow_none=True, required=True)
    safety_tier = fields.String(allow_none=True, required=True, metadata={"description": "a safety answer's tier"})


class ActivityInputSchema(Schema):
    activity = fields.String(required=True, validate=validate.Length(max=1000))
    score = fields.Integer(strict=True, required=True)


class IntakeStepInputSchema(Schema):
    answers = fields.Dict(
        keys=fields.String(validate=validate.Length(max=64)),
        values=fields.Raw(allow_none=True),
        load_default=dict,
        metadata={"description": 'question name -> code, list of codes, 0-10 or "yes"/"no" (steps 1-4)'},
    )
    activities = fields.List(
        fields.Nested(ActivityInputSchema),
        load_default=list,
        validate=validate.Length(max=10),
        metadata={"description": "the last step: up to three activities, each rated 0-10"},
    )


class GoalSchema(Schema):
    id = fields.Integer(required=True)
    activity = fields.String(required=True)
    first = fields.Integer(allow_none=True, required=True)
    first_day = fields.Date(allow_none=True, required=True)
    latest = fields.Integer(allow_none=True, required=True)
    latest_day = fields.Date(allow_none=True, required=True)
    change = fields.Integer(allow_none=True, required=True)
    important = fields.Boolean(required=True, metadata={"description": "the change is 2 points or more"})


class GoalsSchema(Schema):
    goals = fields.List(fields.Nested(GoalSchema), required=True)
    rating_due = fields.Boolean(required=True, metadata={"description": "14 days since the last rating"})


class RatingInputSchema(Schema):
    goal_id = fields.Integer(strict=True, required=True)
    score = fields.Integer(strict=True, required=True)


class RateInputSchema(Schema):
    ratings = fields.List(fields.Nested(RatingInputSchema), load_default=list, validate=validate.Length(max=10))
    retire = fields.List(fields.Integer(strict=True), load_default=list, validate=validate.Length(max=10))
    new = fields.List(fields.Nested(ActivityInputSchema), load_default=list, validate=validate.Length(max=10))


def _intake_body(patient) -> dict:
    intake = intake_service.intake_for(patient.id)
    answers = (intake.answers or {}) if intake else {}
    tier = intake_service.safety_tier(answers)
    return {
        "steps": [
            {
                "number": step.number,
                "title": str(step.title),
                "questions": [
                    {
                        "name": q.name,
                        "label": str(q.label),
                        "kind": q.kind,
                        "choices": [{"code": code, "label": str(label)} for code, label in q.choices],
                        "tier": q.tier or None,
                    }
                    for q in step.questions
                ],
            }
            for step in intake_service.STEPS
        ],
        "answers": answers,
        "steps_done": intake.steps_done if intake else 0,
        "next_step": intake_service.next_step(intake),
        "finished_at": intake.finished_at if intake else None,
        "safety_tier": str(tier) if tier else None,
    }


def _refused(errors: dict[str, str]):
    return problem(
        422,
        _("Some fields were not right."),
        code="validation_failed",
        errors=[{"field": name, "location": "json", "message": message} for name, message in errors.items()],
    )


@bp.route("/me/intake", methods=["GET"])
@patient_only
@bp.response(200, IntakeSchema)
def get_intake():
    """The intake's steps and questions (with their answer codes), the answers saved so far and the next step."""
    return _intake_body(g.api_user)


@bp.route("/me/intake/steps/<int:number>", methods=["PUT"])
@patient_only
@problems("not_found", "intake_step_not_open")
@bp.arguments(IntakeStepInputSchema)
@bp.response(200, IntakeSchema)
def save_intake_step(values: dict, number: int):
    """Answer one step (steps 1-4: `answers`; the last step: `activities`, which finishes the intake).
    A safety "yes" opens the same red-flag alert as a check-in; `safety_tier` then names the advice to show."""
    patient = g.api_user
    step = intake_service.step(number)
    if step is None:
        return problem(404, code="not_found")
    try:
        if number == GOALS_STEP:
            goal_service.finish_intake(patient, values["activities"])
        else:
            allowed = {q.name for q in step.questions} | {f"{q.name}_other" for q in step.questions if q.kind == MULTI}
            unknown = sorted(set(values["answers"]) - allowed)
            if unknown:
                return _refused(dict.fromkeys(unknown, _("This step does not ask this.")))
            intake_service.save_step(patient, number, values["answers"])
    except (IntakeError, GoalError) as error:
        db.session.rollback()
        return _refused(error.errors)
    except StepNotOpen:
        db.session.rollback()
        return problem(409, _("Please answer the earlier steps first."), code="intake_step_not_open")
    db.session.commit()
    return _intake_body(patient)


def _goals_body(patient) -> dict:
    state = goal_service.goals_today(patient.id)
    return {
        "goals": [
            {
                "id": goal.id,
                "activity": goal.activity,
                "first": goal.first,
                "first_day": goal.first_day,
                "latest": goal.latest,
                "latest_day": goal.latest_day,
                "change": goal.change,
                "important": goal.important,
            }
            for goal in state.goals
        ],
        "rating_due": goal_service.rating_due(state.last_rated, patient_today(patient)),
    }


@bp.route("/me/goals", methods=["GET"])
@patient_only
@bp.response(200, GoalsSchema)
def get_goals():
    """The patient's activities (PSFS) with their first and latest ratings, and whether a new rating is due."""
    return _goals_body(g.api_user)


@bp.route("/me/goals/ratings", methods=["POST"])
@patient_only
@bp.arguments(RateInputSchema)
@bp.response(200, GoalsSchema)
def rate_goals(values: dict):
    """Rate every kept activity again (0-10), retire some, name new ones: three at most, all or nothing."""
    patient = g.api_user
    ratings = {row["goal_id"]: row["score"] for row in values["ratings"]}
    try:
        goal_service.rate_activities(patient, ratings, set(values["retire"]), values["new"])
    except GoalError as error:
        db.session.rollback()
        return _refused(error.errors)
    db.session.commit()
    return _goals_body(patient)
