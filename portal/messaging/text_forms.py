"""The forms of the account page's text reminders (each a plain form with its own CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Regexp

from portal.forms import PortalForm, single_line


class TextStartForm(PortalForm):
    submit = SubmitField(_l("Text me reminders"))


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
    submit = SubmitField(_l("Send a test text"))


class TextOffForm(PortalForm):
    submit = SubmitField(_l("Turn off texts"))
