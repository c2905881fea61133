from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SubmitField, TimeField, ValidationError
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from portal.auth.passwords import MAX_PASSWORD_LENGTH, password_problems
from portal.forms import PortalForm, single_line, strip_filter
from portal.i18n import LANGUAGES


class LoginForm(PortalForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254), single_line], filters=[strip_filter])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    submit = SubmitField(_l("Log in"))


class NewPasswordMixin:
    """A new password typed twice and checked against the policy."""

    email_for_policy = ""

    def validate_password(self, field) -> None:
        problems = password_problems(field.data or "", email=self.email_for_policy)
        if problems:
            raise ValidationError(" ".join(problems))


class SetPasswordForm(NewPasswordMixin, PortalForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    confirm = PasswordField(
        _l("Repeat the new password"), validators=[DataRequired(), EqualTo("password", _l("The two passwords differ."))]
    )
    submit = SubmitField(_l("Save password"))


class ChangePasswordForm(SetPasswordForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    submit = SubmitField(_l("Change password"))


class ForgotPasswordForm(PortalForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254), single_line],
        filters=[strip_filter],
    )
    submit = SubmitField(_l("Send reset link"))


class LanguageForm(PortalForm):
    # Each language in its own name, so a reader finds theirs whatever the page's language.
    language = SelectField(_l("Language"), choices=list(LANGUAGES.items()), validators=[DataRequired()])
    submit = SubmitField(_l("Save language"))


class PreferencesForm(PortalForm):
    email_notifications = BooleanField(_l("Email me when I have a new message"))
    reminder_time = TimeField(_l("Daily check-in reminder time"), validators=[Optional()])
    submit = SubmitField(_l("Save preferences"))


class EndSessionForm(PortalForm):
    """A POST button with CSRF protection: end one session, or all the others."""

    submit = SubmitField(_l("End session"))


class PlanTimesForm(PortalForm):
    """ "When I do my plan": up to three times of day (the calendar's events and the plan reminders)."""

    first_time = TimeField(_l("First time"), validators=[Optional()])
    second_time = TimeField(_l("Second time"), validators=[Optional()])
    third_time = TimeField(_l("Third time"), validators=[Optional()])
    plan_reminders = BooleanField(_l("Remind me at these times"))
    submit = SubmitField(_l("Save my times"))

    @property
    def time_fields(self):
        return (self.first_time, self.second_time, self.third_time)

    def load(self, user) -> None:
        """Show the user's times (the defaults until they choose)."""
        for time_field, value in zip(self.time_fields, user.plan_times + [None] * 3, strict=False):
            time_field.data = value
        self.plan_reminders.data = user.plan_reminders

    def chosen_times(self) -> list:
        return [f.data for f in self.time_fields if f.data is not None]

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        chosen = self.chosen_times()
        if not chosen:
            self.first_time.errors.append(_l("Choose at least one time of day."))
            return False
        seen = set()
        for time_field in self.time_fields:
            value = time_field.data
            if value is None:
                continue
            if value.replace(second=0, microsecond=0) in seen:
                time_field.errors.append(_l("Choose a different time from the ones above."))
                return False
            seen.add(value.replace(second=0, microsecond=0))
        return True
