"""Template filters for dates, times and numbers, in the reader's language and time zone.

The reader's zone is their own, else their clinic's (``User.tz``); anonymous pages
use the practice's zone. Words and order come from Babel's CLDR data for the
request's language, so no page builds an English date by hand.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache

from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton, get_datetime_format, get_day_names
from babel.dates import format_time as babel_format_time
from flask import Flask
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import pass_context

from portal.i18n import RENDER_LOCALE, current_locale_identifier
from portal.timeutil import DEFAULT_TIMEZONE, as_local

# CLDR skeletons: Babel picks each language's own order and words for them.
DAY_STYLES = {
    "short": "MMMd",  # Dec 1 · 1 dic
    "medium": "yMMMd",  # Dec 1, 2026 · 1 dic 2026
    "long": "yMMMMd",  # December 1, 2026 · 1 de diciembre de 2026
    "weekday": "MMMEd",  # Tue, Dec 1 · mar, 1 dic
    "weekday_year": "yMMMEd",  # Tue, Dec 1, 2026 · mar, 1 dic 2026
}
# A full weekday name with the date; CLDR has no skeleton that keeps the weekday unabbreviated.
WEEKDAY_LONG = {"en": "EEEE, MMMM d", "es": "EEEE, d 'de' MMMM"}
WEEKDAY_LONG_YEAR = {"en": "EEEE, MMMM d, y", "es": "EEEE, d 'de' MMMM 'de' y"}


ROLE_LABELS = {"patient": _l("Patient"), "coach": _l("Coach"), "admin": _l("Admin")}


def role_label(role: str) -> str:
    """A role as people read it ("Patient", "Paciente")."""
    return str(ROLE_LABELS.get(str(role), role))


def language_label(code: str | None) -> str:
    """A language in its own name, as the portal offers it."""
    return {"es": "Español"}.get(code or "en", "English")


def weekday_name(number: int) -> str:
    """Monday = 0 (as in PlanItem.weekdays), in the reader's language ("Monday", "lunes")."""
    return get_day_names("wide", locale=_locale())[int(number)]


def weekday_short(number: int) -> str:
    """Monday = 0, abbreviated in the reader's language ("Mon", "lun")."""
    return get_day_names("abbreviated", locale=_locale())[int(number)]


def weekday_narrow(number: int) -> str:
    """Monday = 0, in the fewest letters the reader's language uses for a column heading ("Mo", "LU")."""
    return get_day_names("short", locale=_locale())[int(number)]


def reader_timezone() -> str:
    return current_user.tz if getattr(current_user, "is_authenticated", False) else DEFAULT_TIMEZONE


def _locale():
    return get_locale() or "en"


def format_day(value: date | None, style: str = "medium") -> str:
    """A calendar day in the reader's language: styles of DAY_STYLES, or "weekday_long" / "weekday_long_year"."""
    if value is None:
        return ""
    return _formatted_day(value, style, current_locale_identifier())


@pass_context
def day_filter(context, value: date | None, style: str = "medium") -> str:
    """``format_day`` for templates: the locale comes from the render (asked once per render, as its
    catalog is), not from the request on each of a chart page's ~70 labels; a macro imported without
    context asks the request."""
    if value is None:
        return ""
    return _formatted_day(value, style, context.get(RENDER_LOCALE) or current_locale_identifier())


# Charts and histories label the same few hundred days on every page, and Babel's skeleton
# matching is slow; a day's label in a language never changes, so it is kept per process.
@lru_cache(maxsize=8192)
def _formatted_day(value: date, style: str, locale: str) -> str:
    if style in ("weekday_long", "weekday_long_year"):
        patterns = WEEKDAY_LONG if style == "weekday_long" else WEEKDAY_LONG_YEAR
        pattern = patterns.get(locale.split("_")[0], patterns["en"])
        return babel_format_date(value, pattern, locale=locale)
    return format_skeleton(DAY_STYLES.get(style, DAY_STYLES["medium"]), value, locale=locale)


def local_datetime(value: datetime | None, style: str = "datetime") -> str:
    """A stored UTC time in the reader's zone and language: "datetime", or a day style of ``format_day``."""
    if value is None:
        return ""
    local = as_local(value, reader_timezone())
    if style == "datetime":
        return _date_and_clock(local, "medium")
    return format_day(local.date(), style)


def time_of_day(value: time | datetime) -> str:
    """A time of day (or a local time's clock) in the reader's language: "1:00 PM" · "13:00"."""
    return _formatted_clock(value.hour, value.minute, current_locale_identifier())


# A page lists a few timestamps (sessions, devices, messages) and Babel rebuilds the language's time
# pattern for each; the short clock shows only hours and minutes, so each one is kept per process.
@lru_cache(maxsize=4096)
def _formatted_clock(hour: int, minute: int, locale: str) -> str:
    return babel_format_time(time(hour, minute), "short", locale=locale)  # 2:05 PM · 14:05


@lru_cache(maxsize=16)
def _date_and_clock_joiner(locale: str) -> str:
    # The language's own way of joining a date and a time ("{1}, {0}").
    return str(get_datetime_format("medium", locale=locale))


def _date_and_clock(local: datetime, day_style: str) -> str:
    joiner = _date_and_clock_joiner(current_locale_identifier())
    return joiner.replace("{1}", format_day(local.date(), day_style)).replace("{0}", time_of_day(local))


def practice_time(value: datetime | None) -> str:
    """A stored UTC time in the practice's zone with the zone named: "Dec 1, 2026, 2:05 PM CST".

    Records read by staff in several clinics (the audit log) use one zone, shown, so two
    rows compare at a glance.
    """
    if value is None:
        return ""
    local = as_local(value, DEFAULT_TIMEZONE)
    zone_name = babel_format_time(local, "z", locale=_locale())
    return f"{_date_and_clock(local, 'medium')} {zone_name}"


def message_time(value: datetime | None) -> str:
    """A stored time in the reader's zone, relative to today: "Today 2:05 PM", "Nov 3, 9:40 AM"."""
    if value is None:
        return ""
    local = as_local(value, reader_timezone())
    now = datetime.now(local.tzinfo)
    if local.date() == now.date():
        return _("Today %(time)s", time=time_of_day(local))
    return _date_and_clock(local, "short" if local.year == now.year else "medium")


def number(value: float | int | None) -> str:
    return "" if value is None else format_decimal(value)


def tel_href(phone: str | None) -> str:
    """A phone number for a ``tel:`` link: digits only (and a leading +), as dialers expect."""
    if not phone:
        return ""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return ("+" if phone.strip().startswith("+") else "") + digits


def register_template_filters(app: Flask) -> None:
    app.add_template_filter(tel_href, "tel")
    app.add_template_filter(local_datetime, "local_datetime")
    app.add_template_filter(message_time, "message_time")
    app.add_template_filter(practice_time, "practice_time")
    app.add_template_filter(day_filter, "day")
    app.add_template_filter(weekday_name, "weekday_name")
    app.add_template_filter(weekday_short, "weekday_short")
    app.add_template_filter(weekday_narrow, "weekday_narrow")
    app.add_template_filter(number, "number")
    app.add_template_filter(time_of_day, "time_of_day")
    app.add_template_filter(role_label, "role_label")
    app.add_template_filter(language_label, "language_label")
