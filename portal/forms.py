"""Form pieces shared by every feature."""

from __future__ import annotations

from datetime import date

import phonenumbers
from babel import support
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import ValidationError
from wtforms.i18n import messages_path

from portal.formrender import render_field
from portal.state import portal_state

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


def is_one_line(value: str) -> bool:
    """Whether text has no control character at all (CR, LF, tab, NUL, DEL, C1...) nor a Unicode line break.

    A title, name or short answer ends up in headers, calendar files, CSV cells and
    one-line layouts, where a line break or a NUL breaks the format or forges a line.
    """
    return not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F or ch in _LINE_BREAKERS for ch in value)


def single_line(form, field) -> None:  # noqa: ARG001
    """Every single-line text field: ``is_one_line``."""
    value = field.data or ""
    if not isinstance(value, str):
        return
    if not is_one_line(value):
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


# WTForms' own messages ("Not a valid date value"...) in each language, loaded once per
# app (kept in its state) instead of once per request.
def _wtforms_catalog(locale: str) -> support.Translations:
    catalogs = portal_state().wtforms_catalogs
    catalog = catalogs.get(locale)
    if catalog is None:
        catalog = catalogs[locale] = support.Translations.load(messages_path(), [locale], domain="wtforms")
    return catalog


class _WTFormsMessages:
    """WTForms' translations interface over the request's language."""

    def gettext(self, string):
        return _wtforms_catalog(str(get_locale())).ugettext(string)

    def ngettext(self, singular, plural, n):
        return _wtforms_catalog(str(get_locale())).ungettext(singular, plural, n)


_WTFORMS_MESSAGES = _WTFormsMessages()


class PortalForm(FlaskForm):
    """Every form of the portal: Flask-WTF's CSRF and validation, rendered by ``formrender``."""

    class Meta:
        def render_field(self, field, render_kw):
            return render_field(field, render_kw)

        def get_translations(self, form):  # noqa: ARG002
            return _WTFORMS_MESSAGES
