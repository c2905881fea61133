"""Forms of the patient's daily check-in and weekly outcome check (PEG)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
    widgets,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from portal.care.consent import AGREEMENT, KIND_CHECKBOXES, PRIVACY
from portal.care.red_flags import RED_FLAGS
from portal.forms import PortalForm, no_control_chars, strip_filter

MAX_NOTES = 2000

YES_NO = [("no", _l("No")), ("yes", _l("Yes"))]
SLEEP_CHOICES = [
    ("", _l("Choose…")),
    ("1", _l("1 – very poor")),
    ("2", _l("2 – poor")),
    ("3", _l("3 – fair")),
    ("4", _l("4 – good")),
    ("5", _l("5 – very good")),
]


def _scale(label: str, low: int = 0, high: int = 10, required: bool = True) -> IntegerField:
    """An integer field with a clear out-of-range message (text is refused by IntegerField itself)."""
    message = _l("Enter a whole number from %(low)s to %(high)s.", low=low, high=high)
    validators = [InputRequired(message=message) if required else Optional(), NumberRange(low, high, message)]
    return IntegerField(label, validators=validators, render_kw={"min": low, "max": high, "inputmode": "numeric"})


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (today's plan items)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class CheckInForm(PortalForm):
    # The local day the form was opened for: a form left open past midnight, or
    # a hand-made post for another day, is refused instead of silently moved.
    day = HiddenField()
    pain = _scale(_l("Pain right now (0–10)"))
    stiffness = _scale(_l("Stiffness right now (0–10)"))
    spasm_episodes = _scale(_l("Muscle spasm episodes since yesterday"), 0, 50)
    sleep_quality = SelectField(_l("How did you sleep last night?"), choices=SLEEP_CHOICES, validators=[Optional()])
    water_glasses = _scale(_l("Glasses of water yesterday"), 0, 30, required=False)
    items_done = MultiCheckboxField(_l("Which of today's plan items did you do?"), coerce=int, validators=[Optional()])
    notes = TextAreaField(
        _l("Notes for your coach (optional)"),
        validators=[Optional(), Length(max=MAX_NOTES), no_control_chars],
        filters=[strip_filter],
        render_kw={"rows": 3, "maxlength": MAX_NOTES},
    )

    def red_flag_fields(self) -> list:
        return [getattr(self, flag.field) for flag in RED_FLAGS]

    def red_flag_questions(self) -> list:
        """(field, RedFlag) pairs in the order the check-in asks them: the page marks each question's tier."""
        return [(getattr(self, flag.field), flag) for flag in RED_FLAGS]

    @property
    def safety_unanswered(self) -> bool:
        return any(field.errors for field in self.red_flag_fields())

    def values(self) -> dict:
        """The check-in's values as the care service takes them."""
        values = {
            "pain": self.pain.data,
            "stiffness": self.stiffness.data,
            "spasm_episodes": self.spasm_episodes.data,
            "sleep_quality": int(self.sleep_quality.data) if self.sleep_quality.data else None,
            "water_glasses": self.water_glasses.data,
            "notes": self.notes.data or "",
        }
        for flag in RED_FLAGS:
            values[flag.field] = getattr(self, flag.field).data == "yes"
        return values


# One yes/no question per red flag, in the order the check-in asks them. None is
# pre-selected: a skipped question must not count as "no".
SAFETY_ANSWER_MESSAGE = _l("Answer each safety question")
for _flag in RED_FLAGS:
    setattr(
        CheckInForm,
        _flag.field,
        RadioField(
            _flag.question,
            choices=YES_NO,
            validate_choice=False,
            validators=[
                InputRequired(message=SAFETY_ANSWER_MESSAGE),
                AnyOf(("no", "yes"), message=SAFETY_ANSWER_MESSAGE),
            ],
        ),
    )


class WeeklyOutcomeForm(PortalForm):
    """The PEG scale: three questions about the past week, each 0–10."""

    pain_average = _scale(_l("Your pain on average over the past 7 days (0–10)"))
    enjoyment_interference = _scale(_l("How much pain got in the way of enjoying life this week (0–10)"))
    activity_interference = _scale(_l("How much pain got in the way of your usual activities this week (0–10)"))


AGREE_MESSAGE = _l("Please agree to continue")


class ConsentForm(PortalForm):
    """ "Before we start": both documents of the version shown must be agreed to."""

    # The version of the texts the page showed: a newer one published meanwhile is asked again.
    version = HiddenField()
    agreement = BooleanField(KIND_CHECKBOXES[AGREEMENT], validators=[DataRequired(message=AGREE_MESSAGE)])
    privacy = BooleanField(KIND_CHECKBOXES[PRIVACY], validators=[DataRequired(message=AGREE_MESSAGE)])

    def shown_version(self) -> int | None:
        raw = (self.version.data or "").strip()
        return int(raw) if raw.isdigit() and len(raw) < 9 else None
