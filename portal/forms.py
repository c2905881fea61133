"""Form pieces shared by every feature."""

from __future__ import annotations

from flask_babel import gettext as _
from wtforms import ValidationError


def strip_filter(value):
    return value.strip() if isinstance(value, str) else value


def no_control_chars(form, field) -> None:  # noqa: ARG001
    """Refuse control characters (other than line breaks and tabs) in free text."""
    value = field.data or ""
    if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in value) or "\x7f" in value:
        raise ValidationError(_("Remove the invisible control characters from this text."))
