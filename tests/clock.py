"""A chosen, frozen clock for the care-rule tests.

The care rules work on the patient's local day, so a test that takes "today" from
the machine could pass on a Monday and fail on a Sunday. Modules that use the
``care_clock`` fixture run at ``CARE_NOW`` instead: a fixed instant by default, or
the ISO timestamp in ``TEST_FROZEN_NOW`` (``make test-week`` replays the care-rule
tests at every day of a week with it). time-machine patches the C-level clock too,
so ``datetime.now(tz)`` in ``portal.timeutil`` sees the chosen instant.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine

# A Friday, 17:00 UTC: noon in Chicago, already Saturday in Tokyo and Auckland.
DEFAULT_NOW = datetime(2026, 3, 20, 17, 0, tzinfo=UTC)


def care_now() -> datetime:
    raw = os.environ.get("TEST_FROZEN_NOW")
    if not raw:
        return DEFAULT_NOW
    value = datetime.fromisoformat(raw)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@pytest.fixture
def care_clock() -> Iterator[time_machine.Coordinates]:
    """The clock at ``care_now()``; it ticks on (sessions and sign-in codes still see time pass)."""
    with time_machine.travel(care_now(), tick=True) as traveller:
        yield traveller
