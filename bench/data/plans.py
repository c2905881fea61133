"""One active plan per generated patient, with 6-10 items from the library."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date

from sqlalchemy.engine import Connection

from bench.data.people import PatientSpec
from portal.care.models import PlanStatus
from portal.exercises.models import ItemKind, LibraryItem
from portal.extensions import db

PLAN_COLUMNS = ("id", "patient_id", "coach_id", "title", "goals", "start_date", "status", "version")
PLAN_ITEM_COLUMNS = (
    "id",
    "plan_id",
    "library_item_id",
    "sets",
    "reps",
    "hold_seconds",
    "times_per_day",
    "weekdays",
    "position",
    "is_active",
    "coach_note",
)
EVERY_DAY = "0123456"
MON_WED_FRI = "024"

# patient id -> [(plan item id, weekdays)]: what the check-in history logs against.
Schedules = dict[int, list[tuple[int, str]]]


def load_library(conn: Connection) -> dict[str, list[tuple]]:
    """Active library items by kind, with their default dosage."""
    t = LibraryItem.__table__
    rows = conn.execute(
        db.select(
            t.c.id, t.c.kind, t.c.default_sets, t.c.default_reps, t.c.default_hold_seconds, t.c.default_times_per_day
        )
        .where(t.c.is_active.is_(True))
        .order_by(t.c.id)
    ).all()
    by_kind: dict[str, list[tuple]] = {k.value: [] for k in ItemKind}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(tuple(row))
    return by_kind


def plan_rows(patients: Sequence[PatientSpec], first_plan_id: int, start: date) -> Iterator[tuple]:
    for n, spec in enumerate(patients):
        yield (
            first_plan_id + n,
            spec.id,
            spec.coach_id,
            "Home plan for back spasms",
            "Less pain and stiffness; back to walking 30 minutes a day.",
            start,
            PlanStatus.ACTIVE.value,
            1,
        )


def plan_item_rows(
    patients: Sequence[PatientSpec],
    library: dict[str, list[tuple]],
    first_plan_id: int,
    first_item_id: int,
    rng: random.Random,
    schedules: Schedules,
) -> Iterator[tuple]:
    """Rows in PLAN_ITEM_COLUMNS order; fills ``schedules`` as it goes.

    Streaming keeps memory flat at a million patients; the schedules are what the
    check-in history needs, so the items are never read back.
    """
    item_id = first_item_id
    for n, spec in enumerate(patients):
        items = schedules.setdefault(spec.id, [])
        for position, (lib_id, _kind, sets, reps, hold, per_day) in enumerate(choose_items(library, rng)):
            weekdays = item_weekdays(rng)
            items.append((item_id, weekdays))
            yield (item_id, first_plan_id + n, lib_id, sets, reps, hold, per_day or 1, weekdays, position, True, "")
            item_id += 1


def choose_items(library: dict[str, list[tuple]], rng: random.Random) -> list[tuple]:
    """Mostly stretches and exercises, one or two posture habits and nutrition tips."""
    exercises = library[ItemKind.EXERCISE]
    posture = library.get(ItemKind.POSTURE) or exercises
    diet = library.get(ItemKind.DIET) or exercises
    size = rng.randint(6, 10)
    n_posture = rng.randint(1, 2)
    n_diet = rng.randint(1, 2)
    return (
        rng.sample(exercises, size - n_posture - n_diet)
        + rng.sample(posture, min(n_posture, len(posture)))
        + rng.sample(diet, min(n_diet, len(diet)))
    )


def item_weekdays(rng: random.Random) -> str:
    """Strengthening work on Mon/Wed/Fri for some; everything else daily."""
    return MON_WED_FRI if rng.random() < 0.15 else EVERY_DAY
