"""Template filters that show stored UTC times in the reader's time zone.

The reader's zone is their own, else their clinic's (``User.tz``); anonymous pages
use the practice's zone. One rule, used by every page that shows a time.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_login import current_user

from portal.timeutil import DEFAULT_TIMEZONE, as_local


def reader_timezone() -> str:
    return current_user.tz if getattr(current_user, "is_authenticated", False) else DEFAULT_TIMEZONE


def local_datetime(value: datetime | None, fmt: str = "%b %-d, %Y %-I:%M %p") -> str:
    """A stored time in the reader's zone, formatted with ``fmt``."""
    if value is None:
        return ""
    return as_local(value, reader_timezone()).strftime(fmt)


def message_time(value: datetime | None) -> str:
    """A stored time in the reader's zone, relative to today: "Today 2:05 PM", "Nov 3, 9:40 AM"."""
    if value is None:
        return ""
    zone = reader_timezone()
    local = as_local(value, zone)
    now = datetime.now(local.tzinfo)
    clock = local.strftime("%I:%M %p").lstrip("0")
    if local.date() == now.date():
        return f"Today {clock}"
    if local.year == now.year:
        return f"{local.strftime('%b')} {local.day}, {clock}"
    return f"{local.strftime('%b')} {local.day}, {local.year}, {clock}"


def register_template_filters(app: Flask) -> None:
    app.add_template_filter(local_datetime, "local_datetime")
    app.add_template_filter(message_time, "message_time")
