"""The patient's plan as an iCalendar file (RFC 5545) for their phone's calendar.

One recurring weekly event per scheduled plan item: DTSTART on the first
scheduled day on or after the plan's start, in the patient's time zone (with its
VTIMEZONE), and an RRULE with BYDAY from ``PlanItem.weekdays`` (Monday = 0).
UIDs are stable (plan and item ids), so importing a newer file updates events
instead of duplicating them in calendar apps that track UIDs.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from icalendar import Calendar, Event, vRecur, vText

from portal.care.models import Plan, PlanItem
from portal.exercises.dosage import describe_dose, describe_weekdays
from portal.exercises.translations import ItemText, item_texts
from portal.mail import public_url
from portal.timeutil import zone

ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
EVENT_MINUTES = 15
DEFAULT_EVENT_TIME = time(8, 0)
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


def _description(item: PlanItem, text: ItemText) -> str:
    lines = []
    dose = describe_dose(item.sets, item.reps, item.hold_seconds, item.times_per_day)
    if dose:
        lines.append(dose)
    lines.append(_("Days: %(days)s", days=describe_weekdays(item.weekdays)))
    if item.coach_note:
        lines.append(_("From your coach: %(note)s", note=_multi_line(item.coach_note)))
    if text.cautions:
        lines.append(_("Take care: %(cautions)s", cautions=_multi_line(text.cautions)))
    lines.append(_("Instructions: %(url)s", url=public_url("exercises.detail", item_id=item.library_item_id)))
    lines.append(_("Stop and contact your clinic if pain gets much worse, or call 911 in an emergency."))
    return "\n".join(lines)


def plan_calendar(
    plan: Plan,
    tz_name: str,
    at: time = DEFAULT_EVENT_TIME,
    now: datetime | None = None,
    locale: str = "en",
) -> bytes:
    """The .ics bytes for the plan's scheduled items, at local time ``at`` on each scheduled day, with
    the items' titles and cautions in ``locale`` (English where an item has no version in it)."""
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
    for item in items:
        text = texts[item.library_item_id]
        first = first_occurrence(plan.start_date, item.weekdays)
        start = datetime.combine(first, at, tzinfo=tz)
        event = Event()
        event.add("uid", f"plan-{plan.id}-item-{item.id}@holistiq-coach")
        event.add("dtstamp", stamp)
        event.add("dtstart", start)
        event.add("duration", timedelta(minutes=EVENT_MINUTES))
        rule = {"freq": "weekly", "byday": [ICAL_DAYS[int(ch)] for ch in item.weekdays]}
        if plan.end_date is not None:
            # UNTIL is inclusive and, with a zoned DTSTART, must be given in UTC.
            rule["until"] = datetime.combine(plan.end_date, time(23, 59, 59), tzinfo=tz).astimezone(UTC)
        event.add("rrule", vRecur(rule))
        event.add("summary", one_line(text.title))
        event.add("description", _description(item, text))
        event.add("categories", [one_line(item.library_item.kind_label)])
        event.add("transp", "TRANSPARENT")  # a reminder, not a busy slot
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
