"""Form pieces shared by every feature."""

from __future__ import annotations

from datetime import date

import phonenumbers
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import ValidationError

# Line and paragraph separators some keyboards and pastes carry, besides the C0/C1 controls.
_LINE_BREAKERS = {"\x85", "\u2028", "\u2029"}
# Dates a person can mean in this portal; outside them date arithmetic (a day after
# 9999-12-31) overflows. Generous on both sides: birth years, plans years ahead.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)


def strip_filter(value):
    return value.strip() if isinstance(value, str) else value


def has_control_chars(value: str) -> bool:
    """Whether free text holds control characters other than line breaks and tabs."""
    return any(ord(ch) < 32 and ch not in "\r\n\t" for ch in value) or "\x7f" in value


def no_control_chars(form, field) -> None:  # noqa: ARG001
    """Refuse control characters (other than line breaks and tabs) in free text."""
    if has_control_chars(field.data or ""):
        raise ValidationError(_("Remove the invisible control characters from this text."))


def single_line(form, field) -> None:  # noqa: ARG001
    """Every single-line text field: no control character at all (CR, LF, tab, NUL, DEL, C1...).

    A title, name or clinic field ends up in headers, calendar files, CSV cells and
    one-line layouts, where a line break or a NUL breaks the format or forges a line.
    """
    value = field.data or ""
    if not isinstance(value, str):
        return
    if any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F or ch in _LINE_BREAKERS for ch in value):
        raise ValidationError(_l("Use one line of text, without line breaks, tabs or invisible characters."))


def sane_date(form, field) -> None:  # noqa: ARG001
    """Every date field: within EARLIEST_DATE..LATEST_DATE, so date arithmetic never overflows."""
    value = field.data
    if isinstance(value, date) and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValidationError(
            _l(
                "Enter a date between %(first)s and %(last)s.",
                first=EARLIEST_DATE.isoformat(),
                last=LATEST_DATE.isoformat(),
            )
        )


# Phone numbers without a country code are read as US numbers: the practice is in Texas.
PHONE_REGION = "US"


def phone_number(form, field) -> None:  # noqa: ARG001
    """A phone number a person can call: checked with libphonenumber, stored in one format.

    US numbers are kept as "(214) 555-0100", others in international form.
    """
    value = (field.data or "").strip()
    if not value:
        return
    try:
        parsed = phonenumbers.parse(value, PHONE_REGION)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ValidationError(_l("Enter a phone number with its area code, like (214) 555-0100."))
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(parsed) == PHONE_REGION
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    field.data = phonenumbers.format_number(parsed, style)
