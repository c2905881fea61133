"""Time helpers: timestamps are stored in UTC, days are the patient's local day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


def as_local(value: datetime, tz_name: str | None) -> datetime:
    """A stored naive-UTC timestamp in the given time zone (the practice's by default)."""
    return value.replace(tzinfo=UTC).astimezone(zone(tz_name))
