"""The patient's plan as an iCalendar file (RFC 5545) for their phone's calendar.

One recurring weekly event per time of day the patient does their plan ("When I do my
plan" on the account page: up to three), listing that round's items (round r holds the
items due at least r times a day, as the guided session's rounds), with one alarm: at
most three alarms a day, however many items. DTSTART is the first day on or after the
plan's start when one of the round's items is due, in the patient's time zone (with its
VTIMEZONE), and the RRULE's BYDAY is the union of the round's items' days (Monday = 0).
UIDs are stable (plan and round), so importing a newer file updates events instead of
duplicating them in calendar apps that track UIDs.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from icalendar import Alarm, Calendar, Event, vRecur, vText

from portal.care.models import Plan, PlanItem
from portal.care.today import round_items
from portal.exercises.dosage import describe_dose, describe_weekdays
from portal.exercises.translations import ItemText, item_texts
from portal.mail import public_url
from portal.timeutil import zone

ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
EVENT_MINUTES = 15
PRODID = "-//Holistiq Coach//Home plan//EN"


# Text stored before single-line fields refused control characters (or written
# straight to the database) must still make a valid file.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_CONTROL_KEEP_LINES = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(value: str | None) -> str:
    """Stored text as one clean line: every run of control characters becomes a space."""
    return _CONTROL.sub(" ", value or "").strip()


def _multi_line(value: str | None) -> str:
    """Stored text keeping its line breaks (CRLF and CR become LF), other controls become spaces."""
    return _CONTROL_KEEP_LINES.sub(" ", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()


def scheduled_items(plan: Plan) -> list[PlanItem]:
    """Active items that are on at least one weekday, in plan order."""
    return [item for item in plan.items if item.is_active and item.weekdays]


def first_occurrence(start: date, weekdays: str) -> date:
    """The first day on or after ``start`` whose weekday (Monday = 0) is in ``weekdays``."""
    for offset in range(7):
        day = start + timedelta(days=offset)
        if str(day.weekday()) in weekdays:
            return day
    raise ValueError("An item without weekdays has no occurrence.")


def _item_lines(item: PlanItem, text: ItemText) -> list[str]:
    dose = describe_dose(item.sets, item.reps, item.hold_seconds, item.times_per_day)
    days = describe_weekdays(item.weekdays)
    lines = [f"- {one_line(text.title)}: {dose} · {days}" if dose else f"- {one_line(text.title)}: {days}"]
    if item.coach_note:
        lines.append("  " + _("From your coach: %(note)s", note=_multi_line(item.coach_note)))
    if text.cautions:
        lines.append("  " + _("Take care: %(cautions)s", cautions=_multi_line(text.cautions)))
    lines.append("  " + _("Instructions: %(url)s", url=public_url("exercises.detail", item_id=item.library_item_id)))
    return lines


def _description(items: list[PlanItem], texts: dict[int, ItemText]) -> str:
    lines = []
    for item in items:
        lines.extend(_item_lines(item, texts[item.library_item_id]))
    lines.append(_("Stop and contact your clinic if pain gets much worse, or call 911 in an emergency."))
    return "\n".join(lines)


def plan_calendar(
    plan: Plan,
    tz_name: str,
    times: list[time],
    now: datetime | None = None,
    locale: str = "en",
) -> bytes:
    """The .ics bytes: one event per time of day in ``times`` (the patient's, earliest first) on
    the days its round's items are due, listing them with their titles and cautions in ``locale``
    (English where an item has no version in it)."""
    tz = zone(tz_name)
    tz_name = tz.key
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # An X- property has no declared type: without vText its text is not escaped at all.
    cal.add("x-wr-calname", vText(_("Home plan: %(title)s", title=one_line(plan.title))))
    cal.add("x-wr-timezone", tz_name)
    items = scheduled_items(plan)
    texts = item_texts([item.library_item for item in items], locale)
    rounds = round_items(items, len(times))
    for number, (at, members) in enumerate(zip(times, rounds, strict=True), start=1):
        if not members:
            continue
        weekdays = "".join(sorted({day for item in members for day in item.weekdays}))
        first = first_occurrence(plan.start_date, weekdays)
        event = Event()
        event.add("uid", f"plan-{plan.id}-round-{number}@holistiq-coach")
        event.add("dtstamp", stamp)
        event.add("dtstart", datetime.combine(first, at, tzinfo=tz))
        event.add("duration", timedelta(minutes=EVENT_MINUTES))
        rule = {"freq": "weekly", "byday": [ICAL_DAYS[int(ch)] for ch in weekdays]}
        if plan.end_date is not None:
            # UNTIL is inclusive and, with a zoned DTSTART, must be given in UTC.
            rule["until"] = datetime.combine(plan.end_date, time(23, 59, 59), tzinfo=tz).astimezone(UTC)
        event.add("rrule", vRecur(rule))
        titles = ", ".join(one_line(texts[item.library_item_id].title) for item in members)
        summary = _(
            "Home plan, round %(round)s of %(rounds)s: %(items)s", round=number, rounds=len(times), items=titles
        )
        event.add("summary", summary)
        event.add("description", _description(members, texts))
        event.add("transp", "TRANSPARENT")  # a reminder, not a busy slot
        alarm = Alarm()  # the one alarm of this time of day
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", timedelta(0))
        alarm.add("description", summary)
        event.add_component(alarm)
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
