from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from portal.auth.models import Role
from portal.forms import no_control_chars, sane_date, single_line, strip_filter

ROLE_CHOICES = [(Role.PATIENT.value, "Patient"), (Role.COACH.value, "Coach"), (Role.ADMIN.value, "Admin")]
PHONE_PATTERN = r"^[0-9 ()+.\-]{0,40}$"


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not a choice: the choice check reports it


class AccountForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired(), Length(max=120), single_line], filters=[strip_filter])
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254), single_line],
        filters=[strip_filter],
    )
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    clinic_id = SelectField("Clinic", coerce=_optional_int, validators=[Optional()])
    coach_id = SelectField("Coach (patients only)", coerce=_optional_int, validators=[Optional()])
    phone = StringField(
        "Phone",
        validators=[
            Optional(),
            Length(max=40),
            Regexp(PHONE_PATTERN, message="Use digits, spaces and ( ) + - . only."),
            single_line,
        ],
        filters=[strip_filter],
    )
    submit = SubmitField("Save account")


class AccountFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    q = StringField(
        "Search name or email", validators=[Optional(), Length(max=100), single_line], filters=[strip_filter]
    )
    role = SelectField("Role", choices=[("", "Any role"), *ROLE_CHOICES], validators=[Optional()])
    clinic = SelectField("Clinic", coerce=_optional_int, validators=[Optional()])
    active = SelectField(
        "Status", choices=[("", "Any status"), ("yes", "Active"), ("no", "Deactivated")], validators=[Optional()]
    )


class ReassignForm(FlaskForm):
    coach_id = SelectField("New coach", coerce=_optional_int, validators=[DataRequired(message="Choose a coach.")])
    submit = SubmitField("Reassign")


class ActionForm(FlaskForm):
    """An empty form: a POST button with CSRF protection."""

    submit = SubmitField("Confirm")


class ClinicForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120), single_line], filters=[strip_filter])
    city = StringField("City", validators=[DataRequired(), Length(max=80), single_line], filters=[strip_filter])
    address = TextAreaField(
        "Address", validators=[Optional(), Length(max=200), no_control_chars], filters=[strip_filter]
    )
    phone = StringField(
        "Phone",
        validators=[
            DataRequired(),
            Length(max=40),
            Regexp(PHONE_PATTERN, message="Use digits, spaces and ( ) + - . only."),
            single_line,
        ],
        filters=[strip_filter],
    )
    timezone = SelectField("Time zone", validators=[DataRequired()])
    submit = SubmitField("Save clinic")


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = StringField("Actor email", validators=[Optional(), Length(max=254), single_line], filters=[strip_filter])
    patient = StringField(
        "Patient email", validators=[Optional(), Length(max=254), single_line], filters=[strip_filter]
    )
    action = StringField("Action", validators=[Optional(), Length(max=64), single_line], filters=[strip_filter])
    date_from = DateField("From", validators=[Optional(), sane_date])
    date_to = DateField("To", validators=[Optional(), sane_date])
