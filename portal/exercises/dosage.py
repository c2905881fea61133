"""Dosage bounds and wording, shared by the library, programs and plans.

One table of limits keeps the import file, the coach's forms and the services
agreeing on what a sensible home-program dose is.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel.speaklater import LazyString

from portal.formatting import weekday_name, weekday_short

# (lowest, highest) accepted value for each dosage field.
LIMITS: dict[str, tuple[int, int]] = {
    "sets": (0, 10),
    "reps": (0, 50),
    "hold_seconds": (0, 300),
    "times_per_day": (1, 6),
    "days_per_week": (1, 7),
}

ALL_WEEKDAYS = "0123456"


# Lazy, so a form class built at import shows each reader's language.
WEEKDAY_NAMES = tuple(LazyString(weekday_name, n) for n in range(7))


def _field_label(name: str) -> str:
    return {
        "sets": _("sets"),
        "reps": _("repetitions"),
        "hold_seconds": _("hold seconds"),
        "times_per_day": _("times a day"),
        "days_per_week": _("days a week"),
    }.get(name, name.replace("_", " "))


def limit_message(name: str) -> str:
    low, high = LIMITS[name]
    return _(
        "Enter a whole number of %(label)s from %(low)s to %(high)s.", label=_field_label(name), low=low, high=high
    )


def lazy_limit_message(name: str) -> LazyString:
    """``limit_message`` for a form class built at import: worded in each reader's language."""
    return LazyString(limit_message, name)


def check_value(name: str, value: object, *, required: bool = False) -> str | None:
    """The problem with one dosage value, or None when it is acceptable."""
    if value is None:
        return _("Enter the %(label)s.", label=_field_label(name)) if required else None
    # bool is an int in Python; a JSON true is not a dose.
    if isinstance(value, bool) or not isinstance(value, int):
        return limit_message(name)
    low, high = LIMITS[name]
    if not low <= value <= high:
        return limit_message(name)
    return None


def weekdays_to_string(days: list[int] | tuple[int, ...] | set[int]) -> str:
    """[0, 2, 4] -> "024" (sorted, unique)."""
    return "".join(str(d) for d in sorted(set(days)))


def describe_weekdays(weekdays: str) -> str:
    """Human wording for a weekday string: "Every day", "Weekdays", "Mon, Wed, Fri"."""
    if weekdays == ALL_WEEKDAYS:
        return _("Every day")
    if weekdays == "01234":
        return _("Weekdays")
    if weekdays == "56":
        return _("Weekends")
    return ", ".join(weekday_short(int(ch)) for ch in weekdays)


def describe_times_per_day(times: int | None) -> str:
    if not times:
        return ""
    if times == 1:
        return _("once a day")
    if times == 2:
        return _("twice a day")
    return ngettext("%(num)d time a day", "%(num)d times a day", times)


def describe_dose(sets: int | None, reps: int | None, hold_seconds: int | None, times_per_day: int | None) -> str:
    """Short wording of a dose: "2 sets of 10 reps · hold 5 s · twice a day"."""
    parts = []
    if sets and reps:
        parts.append(
            ngettext("%(num)d set", "%(num)d sets", sets) + " " + ngettext("of %(num)d rep", "of %(num)d reps", reps)
        )
    elif reps:
        parts.append(ngettext("%(num)d rep", "%(num)d reps", reps))
    elif sets:
        parts.append(ngettext("%(num)d set", "%(num)d sets", sets))
    if hold_seconds:
        if hold_seconds >= 60 and hold_seconds % 60 == 0:
            parts.append(_("hold %(minutes)s min", minutes=hold_seconds // 60))
        else:
            parts.append(_("hold %(seconds)s s", seconds=hold_seconds))
    if times_per_day:
        parts.append(describe_times_per_day(times_per_day))
    return " · ".join(parts)
