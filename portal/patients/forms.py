"""Forms of the patient's daily check-in and weekly outcome check (PEG)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectField, SelectMultipleField, TextAreaField, widgets
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.forms import no_control_chars, strip_filter

MAX_NOTES = 2000

# (field name, question) in the order the check-in asks them.
RED_FLAG_QUESTIONS = (
    ("rf_numbness", "New numbness or tingling in your legs?"),
    ("rf_walking", "Trouble walking or standing?"),
    ("rf_bladder_bowel", "Loss of bladder or bowel control, or numbness in your groin or inner thighs?"),
    ("rf_fall_injury", "A recent fall or injury?"),
    ("rf_activity_stopping", "Pain that stops you from doing your daily activities?"),
)
YES_NO = [("no", "No"), ("yes", "Yes")]
SLEEP_CHOICES = [
    ("", "Choose…"),
    ("1", "1 – very poor"),
    ("2", "2 – poor"),
    ("3", "3 – fair"),
    ("4", "4 – good"),
    ("5", "5 – very good"),
]


def _scale(label: str, low: int = 0, high: int = 10, required: bool = True) -> IntegerField:
    """An integer field with a clear out-of-range message (text is refused by IntegerField itself)."""
    message = f"Enter a whole number from {low} to {high}."
    validators = [InputRequired(message=message) if required else Optional(), NumberRange(low, high, message)]
    return IntegerField(label, validators=validators, render_kw={"min": low, "max": high, "inputmode": "numeric"})


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (today's plan items)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class CheckInForm(FlaskForm):
    # The local day the form was opened for: a form left open past midnight, or
    # a hand-made post for another day, is refused instead of silently moved.
    day = HiddenField()
    pain = _scale("Pain right now (0–10)")
    stiffness = _scale("Stiffness right now (0–10)")
    spasm_episodes = _scale("Muscle spasm episodes since yesterday", 0, 50)
    sleep_quality = SelectField("How did you sleep last night?", choices=SLEEP_CHOICES, validators=[Optional()])
    water_glasses = _scale("Glasses of water yesterday", 0, 30, required=False)
    items_done = MultiCheckboxField("Which of today's plan items did you do?", coerce=int, validators=[Optional()])
    notes = TextAreaField(
        "Notes for your coach (optional)",
        validators=[Optional(), Length(max=MAX_NOTES), no_control_chars],
        filters=[strip_filter],
        render_kw={"rows": 3, "maxlength": MAX_NOTES},
    )
    rf_numbness = RadioField(RED_FLAG_QUESTIONS[0][1], choices=YES_NO, default="no")
    rf_walking = RadioField(RED_FLAG_QUESTIONS[1][1], choices=YES_NO, default="no")
    rf_bladder_bowel = RadioField(RED_FLAG_QUESTIONS[2][1], choices=YES_NO, default="no")
    rf_fall_injury = RadioField(RED_FLAG_QUESTIONS[3][1], choices=YES_NO, default="no")
    rf_activity_stopping = RadioField(RED_FLAG_QUESTIONS[4][1], choices=YES_NO, default="no")

    def red_flag_fields(self) -> list:
        return [getattr(self, name) for name, _question in RED_FLAG_QUESTIONS]


class WeeklyOutcomeForm(FlaskForm):
    """The PEG scale: three questions about the past week, each 0–10."""

    pain_average = _scale("Your pain on average over the past 7 days (0–10)")
    enjoyment_interference = _scale("How much pain got in the way of enjoying life this week (0–10)")
    activity_interference = _scale("How much pain got in the way of your usual activities this week (0–10)")
