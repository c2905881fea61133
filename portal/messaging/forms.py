"""The message form."""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.forms import PortalForm, no_control_chars
from portal.messaging.models import MAX_MESSAGE_LENGTH


def normalise_text(value):
    """One kind of line break and no surrounding blanks, so the length limit means what it says."""
    if not isinstance(value, str):
        return value
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _too_long_message() -> str:
    return _(
        "Keep your message to %(count)s characters or fewer (send the rest in a second message).",
        count=format_decimal(MAX_MESSAGE_LENGTH),
    )


class MessageForm(PortalForm):
    body = TextAreaField(
        _l("Your message"),
        validators=[
            DataRequired(_l("Write a message before sending.")),
            Length(
                max=MAX_MESSAGE_LENGTH,
                message=LazyString(_too_long_message),
            ),
            no_control_chars,
        ],
        filters=[normalise_text],
    )
    submit = SubmitField(_l("Send message"))
