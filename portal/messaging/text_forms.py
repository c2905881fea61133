"""The forms of the account page's section "Reminders" (each a plain form with its own CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, SubmitField, TimeField
from wtforms.validators import DataRequired, InputRequired, Regexp

from portal.forms import PortalForm, single_line

# The three forms that are only a button: the account page writes the button itself (no form object to show
# it), with these labels.
START_LABEL = _l("Text me reminders")
TEST_LABEL = _l("Send a test text")
OFF_LABEL = _l("Turn off texts")


class TextStartForm(PortalForm):
    submit = SubmitField(START_LABEL)


class TextVerifyForm(PortalForm):
    code = StringField(
        _l("Code from the text"),
        validators=[
            DataRequired(_l("Enter the 6-digit code from the text.")),
            single_line,
            Regexp(r"^\d{6}$", message=_l("Enter the 6-digit code from the text.")),
        ],
        filters=[lambda v: v.replace(" ", "").strip() if isinstance(v, str) else v],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7},
    )
    submit = SubmitField(_l("Verify"))


class TextTestForm(PortalForm):
    submit = SubmitField(TEST_LABEL)


class TextOffForm(PortalForm):
    submit = SubmitField(OFF_LABEL)


class ReminderSettingsForm(PortalForm):
    """Reminders by email on or off, and the quiet hours (no reminder on any channel between them)."""

    email_reminders = BooleanField(_l("Email me reminders"))
    quiet_start = TimeField(_l("Quiet hours from"), validators=[InputRequired(_l("Enter a time, for example 21:00."))])
    quiet_end = TimeField(_l("Quiet hours until"), validators=[InputRequired(_l("Enter a time, for example 08:00."))])
    submit = SubmitField(_l("Save reminder settings"))

    def load(self, user) -> None:
        self.email_reminders.data = user.email_reminders
        self.quiet_start.data = user.quiet_start
        self.quiet_end.data = user.quiet_end

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.quiet_start.data == self.quiet_end.data:
            self.quiet_end.errors.append(_l("Quiet hours need an end different from their start."))
            return False
        return True
