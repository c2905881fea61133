"""What program items and plan items share: a dose, and keeping items in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from portal.exercises.dosage import ALL_WEEKDAYS, check_value
from portal.exercises.library import require_active
from portal.exercises.models import LibraryItem

# Weekdays for a library item's "days a week" default: spread out, never back to back when avoidable.
SPREAD_WEEKDAYS = {1: "2", 2: "14", 3: "024", 4: "0246", 5: "01234", 6: "012345", 7: ALL_WEEKDAYS}


@dataclass(frozen=True)
class Dose:
    sets: int | None
    reps: int | None
    hold_seconds: int | None
    times_per_day: int
    weekdays: str
    note: str = ""

    def problems(self) -> dict[str, str]:
        """Field -> message for every out-of-range value (services re-check what forms checked)."""
        found = {}
        for name in ("sets", "reps", "hold_seconds"):
            problem = check_value(name, getattr(self, name))
            if problem:
                found[name] = problem
        problem = check_value("times_per_day", self.times_per_day, required=True)
        if problem:
            found["times_per_day"] = problem
        if (
            not self.weekdays
            or any(ch not in ALL_WEEKDAYS for ch in self.weekdays)
            or len(set(self.weekdays)) != len(self.weekdays)
        ):
            found["weekdays"] = _("Choose at least one day of the week.")
        return found

    @classmethod
    def defaults_for(cls, item: LibraryItem) -> Dose:
        """The library item's usual dose."""
        return cls(
            sets=item.default_sets,
            reps=item.default_reps,
            hold_seconds=item.default_hold_seconds,
            times_per_day=item.default_times_per_day or 1,
            weekdays=SPREAD_WEEKDAYS.get(item.default_days_per_week, ALL_WEEKDAYS),
        )

    def columns(self) -> dict[str, int | str | None]:
        """The dose as column values of a program or plan item (the note has a different name on each)."""
        return {
            "sets": self.sets,
            "reps": self.reps,
            "hold_seconds": self.hold_seconds,
            "times_per_day": self.times_per_day,
            "weekdays": self.weekdays,
        }

    @classmethod
    def of(cls, row, note_attr: str = "note") -> Dose:
        return cls(row.sets, row.reps, row.hold_seconds, row.times_per_day, row.weekdays, getattr(row, note_attr))


class DoseError(ValueError):
    """A dose outside the accepted bounds; ``problems`` maps field -> message."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def apply_dose(row, dose: Dose, note_attr: str = "note") -> list[str]:
    """Copy a dose onto a program or plan item; returns the names of the fields that changed."""
    problems = dose.problems()
    if problems:
        raise DoseError(problems)
    changed = []
    for name in ("sets", "reps", "hold_seconds", "times_per_day", "weekdays"):
        if getattr(row, name) != getattr(dose, name):
            setattr(row, name, getattr(dose, name))
            changed.append(name)
    if getattr(row, note_attr) != dose.note:
        setattr(row, note_attr, dose.note)
        changed.append(note_attr)
    return changed


def move(items: list, item, direction: str) -> bool:
    """Swap ``item`` with its neighbour up or down among ``items`` (ordered); renumber positions 0..n.

    Returns False when the item is already first or last."""
    ordered = sorted(items, key=lambda row: (row.position, row.id))
    index = ordered.index(item)
    target = index - 1 if direction == "up" else index + 1
    if target < 0 or target >= len(ordered):
        return False
    ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, row in enumerate(ordered):
        if row.position != position:
            row.position = position
    return True


def next_position(items: list) -> int:
    return max((row.position for row in items), default=-1) + 1


def append_library_items(
    rows: list, library_items: list[LibraryItem], make_row: Callable[..., Any], *, note_attr: str = "note"
) -> tuple[list, list[LibraryItem]]:
    """Append library items to a plan's or program's rows with their usual doses, in the order given.

    ``rows`` holds the items in use (a removed plan item is not in use); a library item already among
    them, or given twice, is added once. Returns the new rows and the library items skipped because
    they were already there. A retired item refuses the whole batch before anything changes."""
    for library_item in library_items:
        require_active(library_item)
    present = {row.library_item_id for row in rows if getattr(row, "is_active", True)}
    start = next_position(rows)
    added, skipped, seen = [], [], set(present)
    for library_item in library_items:
        if library_item.id in seen:
            if library_item.id in present and library_item not in skipped:
                skipped.append(library_item)
            continue
        seen.add(library_item.id)
        row = make_row(library_item=library_item, position=start + len(added))
        apply_dose(row, Dose.defaults_for(library_item), note_attr=note_attr)
        rows.append(row)
        added.append(row)
    return added, skipped
