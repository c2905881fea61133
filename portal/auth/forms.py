from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SubmitField, TimeField, ValidationError
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from portal.auth.passwords import MAX_PASSWORD_LENGTH, password_problems
from portal.forms import single_line, strip_filter


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), single_line], filters=[strip_filter])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    submit = SubmitField("Log in")


class NewPasswordMixin:
    """A new password typed twice and checked against the policy."""

    email_for_policy = ""

    def validate_password(self, field) -> None:
        problems = password_problems(field.data or "", email=self.email_for_policy)
        if problems:
            raise ValidationError(" ".join(problems))


class SetPasswordForm(NewPasswordMixin, FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    confirm = PasswordField(
        "Repeat the new password", validators=[DataRequired(), EqualTo("password", "The two passwords differ.")]
    )
    submit = SubmitField("Save password")


class ChangePasswordForm(SetPasswordForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    submit = SubmitField("Change password")


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254), single_line],
        filters=[strip_filter],
    )
    submit = SubmitField("Send reset link")


class PreferencesForm(FlaskForm):
    email_notifications = BooleanField("Email me when I have a new message")
    reminder_time = TimeField("Daily check-in reminder time", validators=[Optional()])
    submit = SubmitField("Save preferences")


class EndSessionForm(FlaskForm):
    """A POST button with CSRF protection: end one session, or all the others."""

    submit = SubmitField(_l("End session"))
