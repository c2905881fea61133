"""Weekly PEG scores (pain, enjoyment and activity interference) following each patient's trend."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta

from bench.data.people import PatientSpec

OUTCOME_COLUMNS = (
    "patient_id",
    "week_start",
    "pain_average",
    "enjoyment_interference",
    "activity_interference",
    "created_at",
)


def week_starts(first_day: date, today: date) -> list[date]:
    """The Mondays of the weeks the period touches."""
    monday0 = first_day - timedelta(days=first_day.weekday())
    return [monday0 + timedelta(weeks=w) for w in range((today - monday0).days // 7 + 1)]


def outcome_rows(patients: Sequence[PatientSpec], weeks: Sequence[date], rng: random.Random) -> Iterator[tuple]:
    """Rows in OUTCOME_COLUMNS order; a patient answers a week as often as they check in."""
    for spec in patients:
        for w, week_start in enumerate(weeks):
            if rng.random() > spec.adherence:
                continue
            level = spec.baseline + spec.slope * 7 * w
            pain, enjoyment, activity = (min(10, max(0, round(level + rng.gauss(0, 1)))) for _ in range(3))
            yield (spec.id, week_start, pain, enjoyment, activity, datetime.combine(week_start, datetime.min.time()))
