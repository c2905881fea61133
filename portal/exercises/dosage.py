"""Dosage bounds and wording, shared by the library, programs and plans.

One table of limits keeps the import file, the coach's forms and the services
agreeing on what a sensible home-program dose is.
"""

from __future__ import annotations

# (lowest, highest) accepted value for each dosage field.
LIMITS: dict[str, tuple[int, int]] = {
    "sets": (0, 10),
    "reps": (0, 50),
    "hold_seconds": (0, 300),
    "times_per_day": (1, 6),
    "days_per_week": (1, 7),
}

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ALL_WEEKDAYS = "0123456"


def limit_message(name: str) -> str:
    low, high = LIMITS[name]
    label = name.replace("_", " ")
    return f"Enter a whole number of {label} from {low} to {high}."


def check_value(name: str, value: object, *, required: bool = False) -> str | None:
    """The problem with one dosage value, or None when it is acceptable."""
    if value is None:
        return f"Enter the {name.replace('_', ' ')}." if required else None
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
        return "Every day"
    if weekdays == "01234":
        return "Weekdays"
    if weekdays == "56":
        return "Weekends"
    return ", ".join(WEEKDAY_SHORT[int(ch)] for ch in weekdays)


def describe_times_per_day(times: int | None) -> str:
    return {None: "", 1: "once a day", 2: "twice a day", 3: "3 times a day"}.get(times, f"{times} times a day")


def describe_dose(sets: int | None, reps: int | None, hold_seconds: int | None, times_per_day: int | None) -> str:
    """Short wording of a dose: "2 sets of 10 reps · hold 5 s · twice a day"."""
    parts = []
    if sets and reps:
        parts.append(f"{sets} set{'s' if sets != 1 else ''} of {reps} rep{'s' if reps != 1 else ''}")
    elif reps:
        parts.append(f"{reps} rep{'s' if reps != 1 else ''}")
    elif sets:
        parts.append(f"{sets} set{'s' if sets != 1 else ''}")
    if hold_seconds:
        if hold_seconds >= 60 and hold_seconds % 60 == 0:
            minutes = hold_seconds // 60
            parts.append(f"hold {minutes} min")
        else:
            parts.append(f"hold {hold_seconds} s")
    if times_per_day:
        parts.append(describe_times_per_day(times_per_day))
    return " · ".join(parts)
