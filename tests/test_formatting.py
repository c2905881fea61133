"""Times as readers see them: the kept clock and date-time joiner write exactly what Babel writes."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time

from portal import formatting
from portal.i18n import force_locale


@pytest.mark.parametrize("locale", ["en", "es"])
def test_the_kept_clock_is_babels_short_time_for_every_minute_of_the_day(locale):
    zone = ZoneInfo("America/Chicago")
    for minute_of_day in range(24 * 60):
        local = datetime(2026, 12, 7, minute_of_day // 60, minute_of_day % 60, 37, tzinfo=zone)
        assert formatting._formatted_clock(local.hour, local.minute, locale) == babel_format_time(
            local, "short", locale=locale
        )


@pytest.mark.parametrize(("locale", "expected"), [("en", "9:05\u202fPM"), ("es", "21:05")])
def test_a_time_of_day_reads_in_the_readers_language(app, locale, expected):
    with app.test_request_context("/"), force_locale(locale):
        assert (
            formatting.time_of_day(time(21, 5, 59))
            == expected
            == babel_format_time(time(21, 5), "short", locale=locale)
        )


@pytest.mark.parametrize(("locale", "expected"), [("en", "Dec 7, 2026, 9:05\u202fPM"), ("es", "7 dic 2026, 21:05")])
def test_a_stored_time_reads_in_the_readers_zone_and_language(app, locale, expected):
    stored = datetime(2026, 12, 8, 3, 5, tzinfo=UTC)  # 21:05 the evening before in Chicago
    with app.test_request_context("/"), force_locale(locale):
        written = formatting.local_datetime(stored)
        assert written == expected
        # The language's own pattern joins the day and the clock, as Babel's medium date-time does.
        local = stored.astimezone(ZoneInfo("America/Chicago"))
        babel_clock = babel_format_time(local, "short", locale=locale)
        assert written.endswith(babel_clock)
        assert babel_format_datetime(local, "medium", locale=locale).startswith(written.removesuffix(babel_clock))
