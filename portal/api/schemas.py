"""The API's request and response shapes: they validate input and generate the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from portal.care.alerts import MAX_NOTE as MAX_ALERT_NOTE
from portal.care.red_flags import RED_FLAGS
from portal.forms import has_control_chars
from portal.i18n import LANGUAGES
from portal.messaging.models import MAX_MESSAGE_LENGTH

MAX_NOTES = 2000
MAX_SECRET = 128


def _scale(low: int = 0, high: int = 10, **kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(low, high), **kwargs)


class UtcDateTime(fields.DateTime):
    """A stored naive-UTC timestamp sent as RFC 3339 with its zone ("...Z"), as the contract says."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON true or false only. A set of truthy values cannot say this: 1 == True and 0 == False
    in Python, so 0 and 1 would slip through."""

    def _deserialize(self, value, attr, data, **kwargs):  # noqa: ARG002 - marshmallow's signature
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _boolean(**kwargs) -> fields.Boolean:
    """true or false only: "yes", 1, 0 or "on" are refused, so a client's bug cannot answer a red flag."""
    return StrictBoolean(**kwargs)


def _plain_text(value: str) -> None:
    if has_control_chars(value):
        raise ValidationError(_("Remove the invisible control characters from this text."))


def _text(max_length: int, min_length: int = 0, **kwargs) -> fields.String:
    """Free text as the forms take it: bounded, no control characters but line breaks and tabs."""
    return fields.String(validate=[validate.Length(min=min_length, max=max_length), _plain_text], **kwargs)


# --- sign-in ------------------------------------------------------------------


class TokenRequestSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    code = fields.String(validate=validate.Length(max=32), metadata={"description": "Two-step code (staff)"})


class RefreshRequestSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=MAX_SECRET))


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(
        required=True,
        metadata={"description": "Works once: a refresh answers with a new one, and the one sent is used up"},
    )
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds the access token lives"})


# --- lists ---------------------------------------------------------------------


class PageArgsSchema(Schema):
    cursor = fields.String(validate=validate.Length(max=64))
    limit = fields.Integer(strict=False, validate=validate.Range(1, 100), load_default=25)


class ProgressArgsSchema(Schema):
    days = fields.Integer(validate=validate.OneOf([7, 30, 90]), load_default=30)


# --- the patient -----------------------------------------------------------------


class ProfileSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True)
    language = fields.String(required=True)
    timezone = fields.String(required=True)
    today = fields.Date(required=True, metadata={"description": "The patient's local day"})


class ProfileUpdateSchema(Schema):
    language = fields.String(required=True, validate=validate.OneOf(list(LANGUAGES)))


class PlanItemSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "The plan item's id"})
    library_item_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    sets = fields.Integer(allow_none=True)
    reps = fields.Integer(allow_none=True)
    hold_seconds = fields.Integer(allow_none=True)
    times_per_day = fields.Integer(required=True)
    coach_note = fields.String(required=True)
    paused_reason = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "While the coach has paused this item: the reason shown to the patient (the item "
            "cannot be marked done and is not in today's count). Null when it is not paused."
        },
    )


class PausedSchema(Schema):
    by = fields.String(
        required=True,
        validate=validate.OneOf(["red_flag", "coach"]),
        metadata={
            "description": "`red_flag`: every exercise waits until the coach has checked in after a red-flag "
            "answer; `coach`: the coach paused this one item"
        },
    )
    reason = fields.String(required=True, metadata={"description": "Why, in the patient's language"})
    since = UtcDateTime(required=True)


class TodayItemSchema(PlanItemSchema):
    done = fields.Boolean(required=True, metadata={"description": "Every session due today is done"})
    sessions_done = fields.Integer(required=True, metadata={"description": "Sessions logged today"})
    sessions_due = fields.Integer(required=True, metadata={"description": "Sessions the plan asks for today"})
    paused = fields.Nested(
        PausedSchema,
        required=True,
        allow_none=True,
        metadata={"description": "Null when the item can be marked; otherwise who paused it, why and since when"},
    )


class SafetySchema(Schema):
    alert_id = fields.Integer(required=True)
    tier = fields.String(
        required=True,
        validate=validate.OneOf(["emergency", "today", "soon"]),
        metadata={
            "description": "The highest red-flag tier answered: emergency (call 911), today (call the clinic "
            "today) or soon (the coach calls within a working day)"
        },
    )
    severity = fields.String(required=True, metadata={"description": "Emergency, Urgent or Attention (English)"})
    heading = fields.String(required=True, metadata={"description": "The advice's heading, in the patient's language"})
    advice = fields.String(required=True, metadata={"description": "The advice, in the patient's language"})
    clinic_phone = fields.String(required=True, allow_none=True)
    exercises_paused = fields.Boolean(required=True)
    opened_at = UtcDateTime(required=True)
    acknowledged_by = fields.String(
        required=True, allow_none=True, metadata={"description": "The name of the coach who has seen the report"}
    )
    acknowledged_at = UtcDateTime(required=True, allow_none=True)


class TodaySchema(Schema):
    day = fields.Date(required=True)
    total = fields.Integer(required=True)
    done_count = fields.Integer(required=True)
    sessions_total = fields.Integer(
        required=True, metadata={"description": "Sessions the day asks for: each counted item's times a day."}
    )
    sessions_done = fields.Integer(
        required=True, metadata={"description": "Sessions logged today, each item's capped at its times a day."}
    )
    items = fields.List(fields.Nested(TodayItemSchema), required=True)
    safety = fields.Nested(
        SafetySchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "While a red-flag alert is open: its tier, the advice to show at once, the clinic's "
            "phone and whether a coach has seen it; null otherwise"
        },
    )


class MarkItemSchema(Schema):
    """Exactly one of ``sessions_done`` (the count) and ``done`` (deprecated)."""

    sessions_done = fields.Integer(
        strict=True,
        validate=validate.Range(0, 50),
        metadata={
            "description": "How many of today's sessions are done, from 0 to the item's `sessions_due`. "
            "The count is absolute: the same request twice leaves the same state."
        },
    )
    done = _boolean(
        metadata={
            "deprecated": True,
            "description": "Deprecated, accepted for one more release: true sets every session due today "
            "done, false sets none. Send `sessions_done` instead.",
        }
    )

    @validates_schema
    def _one_of(self, data: dict, **kwargs) -> None:  # noqa: ARG002 - marshmallow's signature
        if ("sessions_done" in data) == ("done" in data):
            raise ValidationError(_("Send either sessions_done or done, not both."), "sessions_done")


def _checkin_fields(patch: bool) -> dict:
    """The check-in's fields: for PUT (a full replacement: a field not sent takes its default) or
    for PATCH (every field optional, and one not sent stays as it is)."""

    def optional(default):
        return {} if patch else {"load_default": default}

    return {
        "pain": _scale(required=not patch),
        "stiffness": _scale(required=not patch),
        "spasm_episodes": _scale(0, 50, **optional(0)),
        "sleep_quality": _scale(1, 5, allow_none=True, **optional(None)),
        "water_glasses": _scale(0, 30, allow_none=True, **optional(None)),
        "notes": _text(MAX_NOTES, **optional("")),
        "items_done": fields.List(
            fields.Integer(strict=True),
            validate=validate.Length(max=200),
            metadata={"description": "Ids of today's plan items done; omit to leave them as they are"},
        ),
        # The red-flag questions are one field each, from the one list the form and the alert rule use.
        **{flag.field: _boolean(**optional(False), metadata={"description": flag.field}) for flag in RED_FLAGS},
    }


CheckInInputSchema = Schema.from_dict(_checkin_fields(patch=False), name="CheckInInput")
CheckInPatchSchema = Schema.from_dict(_checkin_fields(patch=True), name="CheckInPatch")


class CheckInSchema(Schema):
    id = fields.Integer(required=True)
    day = fields.Date(required=True)
    pain = fields.Integer(required=True)
    stiffness = fields.Integer(required=True)
    spasm_episodes = fields.Integer(required=True)
    sleep_quality = fields.Integer(allow_none=True)
    water_glasses = fields.Integer(allow_none=True)
    notes = fields.String(required=True)
    red_flags = fields.List(fields.String(), required=True, metadata={"description": "Red flags answered yes"})


class TodaysCheckInSchema(Schema):
    day = fields.Date(required=True, metadata={"description": "The patient's local day"})
    checkin = fields.Nested(
        CheckInSchema, allow_none=True, required=True, metadata={"description": "null until checked in"}
    )


class SafetyAdviceSchema(Schema):
    tier = fields.String(
        required=True,
        validate=validate.OneOf(["emergency", "today", "soon"]),
        metadata={"description": "The highest red-flag tier the check-in answered: its advice is the one to show"},
    )
    title = fields.String(required=True, metadata={"description": "The advice's heading"})
    text = fields.List(fields.String(), required=True)
    clinic_phone = fields.String(allow_none=True)


class CheckInSavedSchema(Schema):
    checkin = fields.Nested(CheckInSchema, required=True)
    created = fields.Boolean(required=True)
    safety_advice = fields.Nested(SafetyAdviceSchema, allow_none=True, required=True)


class CheckInPageSchema(Schema):
    items = fields.List(fields.Nested(CheckInSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class PegInputSchema(Schema):
    pain_average = _scale(required=True)
    enjoyment_interference = _scale(required=True)
    activity_interference = _scale(required=True)


class PegSchema(PegInputSchema):
    week_start = fields.Date(required=True)
    score = fields.Float(required=True)


class ThisWeekPegSchema(Schema):
    week_start = fields.Date(required=True)
    peg = fields.Nested(PegSchema, allow_none=True, required=True, metadata={"description": "null until answered"})


class SeriesPointSchema(Schema):
    day = fields.Date(required=True)
    pain = fields.Integer(allow_none=True)
    stiffness = fields.Integer(allow_none=True)
    spasm_episodes = fields.Integer(allow_none=True)


class WeekAdherenceSchema(Schema):
    week_start = fields.Date(required=True)
    due = fields.Integer(required=True)
    done = fields.Integer(required=True)
    percent = fields.Integer(allow_none=True)


class PegPointSchema(Schema):
    week_start = fields.Date(required=True)
    score = fields.Float(required=True)


class ProgressSchema(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    series = fields.List(fields.Nested(SeriesPointSchema), required=True)
    adherence = fields.List(fields.Nested(WeekAdherenceSchema), required=True)
    peg = fields.List(fields.Nested(PegPointSchema), required=True)


class PlanSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    goals = fields.String(required=True)
    start_date = fields.Date(required=True)
    status = fields.String(required=True)
    items = fields.List(fields.Nested(PlanItemSchema), required=True)


class ItemDetailSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    steps = fields.List(fields.String(), required=True)
    cautions = fields.String(required=True)
    media_url = fields.String(allow_none=True)
    language = fields.String(required=True)


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    sender_id = fields.Integer(required=True)
    mine = fields.Boolean(required=True)
    body = fields.String(required=True)
    sent_at = UtcDateTime(required=True)
    read_at = UtcDateTime(allow_none=True)


class MessagePageSchema(Schema):
    items = fields.List(fields.Nested(MessageSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class MessageInputSchema(Schema):
    body = _text(MAX_MESSAGE_LENGTH, 1, required=True)


class MarkedReadSchema(Schema):
    marked = fields.Integer(required=True)


# --- the coach -----------------------------------------------------------------


class RosterRowSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    last_checkin = fields.Date(allow_none=True)
    latest_pain = fields.Integer(allow_none=True)
    trend = fields.String(allow_none=True)
    adherence_percent = fields.Integer(allow_none=True)
    open_alerts = fields.Integer(required=True)
    urgent = fields.Boolean(required=True)
    unread_messages = fields.Integer(required=True)
    reasons = fields.List(fields.String(), required=True, metadata={"description": "Why the patient needs attention"})


class RosterPageSchema(Schema):
    items = fields.List(fields.Nested(RosterRowSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class AlertSchema(Schema):
    id = fields.Integer(required=True)
    patient_id = fields.Integer(required=True)
    patient_name = fields.String(required=True)
    kind = fields.String(required=True)
    severity = fields.Integer(required=True)
    summary = fields.String(required=True)
    opened_at = UtcDateTime(required=True)
    resolved_at = UtcDateTime(allow_none=True)
    note = fields.String(required=True)
    tier = fields.String(
        required=True, allow_none=True, metadata={"description": "A red flag's tier: emergency, today or soon"}
    )
    acknowledged_at = UtcDateTime(required=True, allow_none=True)
    acknowledged_by = fields.String(
        required=True, allow_none=True, metadata={"description": "The name of who acknowledged it"}
    )


class AlertPageSchema(Schema):
    items = fields.List(fields.Nested(AlertSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ResolveSchema(Schema):
    note = _text(MAX_ALERT_NOTE, 1, required=True)
    resume_exercises = _boolean(
        load_default=False,
        metadata={"description": "Also make the exercises a red flag paused available again (as the page's choice)"},
    )


class PauseItemSchema(Schema):
    reason = _text(200, 1, required=True, metadata={"description": "Shown to the patient while the item is paused"})


class ExercisesResumedSchema(Schema):
    resumed = fields.Boolean(
        required=True, metadata={"description": "False when no red flag was holding the exercises"}
    )


class PatientSummarySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    language = fields.String(required=True)
    today = fields.Date(required=True)
    review = fields.Nested(RosterRowSchema, required=True)
    plan = fields.Nested(PlanSchema, allow_none=True, required=True)
    open_alerts = fields.List(fields.Nested(AlertSchema), required=True)
