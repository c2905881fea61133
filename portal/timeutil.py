"""Time helpers: timestamps are stored in UTC, days are the patient's local day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from portal.state import portal_state

DEFAULT_TIMEZONE = "America/Chicago"


def zone(tz_name: str | None) -> ZoneInfo:
    """The named IANA zone; the practice's zone when none is given or the stored name is unknown
    (a bad stored zone must never break a page, a download or a reminder)."""
    try:
        return ZoneInfo(tz_name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def utcnow() -> datetime:
    """Naive UTC 'now' (columns store naive UTC so SQLite and PostgreSQL agree)."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_today(tz_name: str | None) -> date:
    """Today's date in the given IANA time zone (the clinic's by default)."""
    return datetime.now(zone(tz_name)).date()


def todays_unlike_the_practice() -> dict[str, date]:
    """{zone name: its today} for every IANA zone whose today is not the practice's now (at most a
    day either way): what SQL that needs each patient's local day binds, since SQLite knows no
    zones. Worked out once per quarter hour and kept by the app (it takes ~0.1 s): every zone's
    offset, and every daylight-saving change, is a whole number of quarter hours, so no zone's
    date changes inside a quarter hour of UTC."""
    now = datetime.now(UTC)
    slot = now - timedelta(minutes=now.minute % 15, seconds=now.second, microseconds=now.microsecond)
    state = portal_state()
    if state.zone_todays is None or state.zone_todays[0] != slot:
        practice = slot.astimezone(zone(DEFAULT_TIMEZONE)).date()
        todays = {name: slot.astimezone(ZoneInfo(name)).date() for name in sorted(available_timezones())}
        state.zone_todays = (slot, {name: day for name, day in todays.items() if day != practice})
    return state.zone_todays[1]


def as_local(value: datetime, tz_name: str | None) -> datetime:
    """A stored naive-UTC timestamp in the given time zone (the practice's by default)."""
    return value.replace(tzinfo=UTC).astimezone(zone(tz_name))
