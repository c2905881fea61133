"""Time helpers: timestamps are stored in UTC, days are the patient's local day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "America/Chicago"


def utcnow() -> datetime:
    """Naive UTC 'now' (columns store naive UTC so SQLite and PostgreSQL agree)."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_today(tz_name: str | None) -> date:
    """Today's date in the given IANA time zone (the clinic's by default)."""
    return datetime.now(ZoneInfo(tz_name or DEFAULT_TIMEZONE)).date()


def local_now(tz_name: str | None) -> datetime:
    return datetime.now(ZoneInfo(tz_name or DEFAULT_TIMEZONE))
