from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.auth.models import Role
from portal.forms import PortalForm, no_control_chars, phone_number, sane_date, single_line, strip_filter
from portal.i18n import DEFAULT_LANGUAGE, LANGUAGES

ROLE_CHOICES = [(Role.PATIENT.value, _l("Patient")), (Role.COACH.value, _l("Coach")), (Role.ADMIN.value, _l("Admin"))]


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not a choice: the choice check reports it


class AccountForm(PortalForm):
    name = StringField(
        _l("Full name"), validators=[DataRequired(), Length(max=120), single_line], filters=[strip_filter]
    )
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254), single_line],
        filters=[strip_filter],
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired()])
    clinic_id = SelectField(_l("Clinic"), coerce=_optional_int, validators=[Optional()])
    coach_id = SelectField(_l("Coach (patients only)"), coerce=_optional_int, validators=[Optional()])
    phone = StringField(
        _l("Phone"),
        validators=[Length(max=40), single_line, phone_number],
        filters=[strip_filter],
        render_kw={"type": "tel", "inputmode": "tel"},
    )
    date_of_birth = DateField(_l("Date of birth (optional)"), validators=[Optional(), sane_date])
    language = SelectField(_l("Preferred language"), choices=list(LANGUAGES.items()), default=DEFAULT_LANGUAGE)
    submit = SubmitField(_l("Save account"))

    def validate_phone(self, field) -> None:
        # The safety loop calls a patient about a red flag, so a patient cannot be without one.
        if self.role.data == Role.PATIENT.value and not (field.data or "").strip():
            raise ValidationError(_l("Enter the patient's phone number: the clinic calls it about safety alerts."))

    def validate_date_of_birth(self, field) -> None:
        if field.data is not None and field.data > date.today():
            raise ValidationError(_l("A date of birth cannot be in the future."))


class AccountFilterForm(PortalForm):
    class Meta:
        csrf = False  # a GET search form

    q = StringField(
        _l("Search name or email"), validators=[Optional(), Length(max=100), single_line], filters=[strip_filter]
    )
    role = SelectField(_l("Role"), choices=[("", _l("Any role")), *ROLE_CHOICES], validators=[Optional()])
    clinic = SelectField(_l("Clinic"), coerce=_optional_int, validators=[Optional()])
    active = SelectField(
        _l("Status"),
        choices=[("", _l("Any status")), ("yes", _l("Active")), ("no", _l("Deactivated"))],
        validators=[Optional()],
    )


class ReassignForm(PortalForm):
    coach_id = SelectField(
        _l("New coach"), coerce=_optional_int, validators=[DataRequired(message=_l("Choose a coach."))]
    )
    # Set by the confirmation page: the first submit only asks.
    confirm = HiddenField()
    submit = SubmitField(_l("Reassign"))


class DeactivateForm(PortalForm):
    """Deactivating an account: the reason is kept in the audit log."""

    reason = StringField(
        _l("Reason"),
        validators=[
            DataRequired(message=_l("Write why the account is deactivated; it is kept in the audit log.")),
            Length(max=200),
            single_line,
        ],
        filters=[strip_filter],
    )
    submit = SubmitField(_l("Deactivate account"))


class ActionForm(PortalForm):
    """An empty form: a POST button with CSRF protection."""

    submit = SubmitField(_l("Confirm"))


class ClinicForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), single_line], filters=[strip_filter])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=80), single_line], filters=[strip_filter])
    address = TextAreaField(
        _l("Address"), validators=[Optional(), Length(max=200), no_control_chars], filters=[strip_filter]
    )
    # The number the safety advice tells patients to call: checked and formatted like patients' phones.
    phone = StringField(
        _l("Phone"),
        validators=[DataRequired(), Length(max=40), single_line, phone_number],
        filters=[strip_filter],
        render_kw={"type": "tel", "inputmode": "tel"},
    )
    timezone = SelectField(_l("Time zone"), validators=[DataRequired()])
    submit = SubmitField(_l("Save clinic"))


class OnCallContactForm(PortalForm):
    """One of a clinic's on-call contacts: emailed about Emergency alerts and escalations."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), single_line], filters=[strip_filter])
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254), single_line],
        filters=[strip_filter],
    )
    phone = StringField(
        _l("Phone"),
        validators=[DataRequired(), Length(max=40), single_line, phone_number],
        filters=[strip_filter],
        render_kw={"type": "tel", "inputmode": "tel"},
    )
    submit = SubmitField(_l("Add on-call contact"))


class AuditFilterForm(PortalForm):
    class Meta:
        csrf = False

    actor = StringField(
        _l("Actor email"), validators=[Optional(), Length(max=254), single_line], filters=[strip_filter]
    )
    patient = StringField(
        _l("Patient email"), validators=[Optional(), Length(max=254), single_line], filters=[strip_filter]
    )
    action = SelectField(_l("Action"), choices=[], default="")
    date_from = DateField(_l("From"), validators=[Optional(), sane_date])
    date_to = DateField(_l("To"), validators=[Optional(), sane_date])
