"""Doses and item order, shared by programs and plans: every rule exactly (portal.care.dosing)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.care.dosing import (
    SPREAD_WEEKDAYS,
    Dose,
    DoseError,
    append_library_items,
    apply_dose,
    move,
    next_position,
)
from portal.care.models import PlanItem, ProgramItem
from portal.exercises.library import RetiredItemError
from tests.plan_factories import make_item

GOOD = Dose(sets=2, reps=10, hold_seconds=30, times_per_day=2, weekdays="024", note="Slowly.")


def test_a_good_dose_has_no_problems_and_each_bound_is_inclusive():
    assert GOOD.problems() == {}
    assert Dose(0, 0, 0, 1, "0").problems() == {}
    assert Dose(10, 50, 300, 6, "0123456").problems() == {}
    assert Dose(None, None, None, 1, "6").problems() == {}  # sets, reps and hold are optional


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"sets": 11}, {"sets"}),
        ({"sets": -1}, {"sets"}),
        ({"reps": 51}, {"reps"}),
        ({"hold_seconds": 301}, {"hold_seconds"}),
        ({"times_per_day": 0}, {"times_per_day"}),
        ({"times_per_day": 7}, {"times_per_day"}),
        ({"times_per_day": None}, {"times_per_day"}),  # required
        ({"sets": True}, {"sets"}),  # a JSON true is not a number of sets
        ({"weekdays": ""}, {"weekdays"}),
        ({"weekdays": "7"}, {"weekdays"}),
        ({"weekdays": "0a"}, {"weekdays"}),
        ({"weekdays": "00"}, {"weekdays"}),
        ({"sets": 99, "reps": 99, "weekdays": ""}, {"sets", "reps", "weekdays"}),
    ],
)
def test_every_problem_is_named_by_its_field(app, changes, fields):
    values = {**GOOD.__dict__, **changes}
    with app.test_request_context():
        problems = Dose(**values).problems()
    assert set(problems) == fields
    if "weekdays" in fields:
        assert problems["weekdays"] == "Choose at least one day of the week."
    if "times_per_day" in fields and changes.get("times_per_day") is None:
        assert problems["times_per_day"] == "Enter the times a day."
    if changes == {"sets": 11}:
        assert problems["sets"] == "Enter a whole number of sets from 0 to 10."


def test_the_library_items_usual_dose(db):
    item = make_item(
        default_sets=3, default_reps=8, default_hold_seconds=20, default_times_per_day=2, default_days_per_week=3
    )
    assert Dose.defaults_for(item) == Dose(3, 8, 20, 2, "024", "")
    bare = make_item(default_times_per_day=None, default_days_per_week=None, default_hold_seconds=None)
    assert Dose.defaults_for(bare) == Dose(2, 10, None, 1, "0123456", "")
    assert SPREAD_WEEKDAYS == {1: "2", 2: "14", 3: "024", 4: "0246", 5: "01234", 6: "012345", 7: "0123456"}


def test_columns_and_of_round_trip_each_note_name():
    assert GOOD.columns() == {"sets": 2, "reps": 10, "hold_seconds": 30, "times_per_day": 2, "weekdays": "024"}
    program_item = ProgramItem(**GOOD.columns(), note="Slowly.")
    plan_item = PlanItem(**GOOD.columns(), coach_note="Slowly.")
    assert Dose.of(program_item) == GOOD
    assert Dose.of(plan_item, note_attr="coach_note") == GOOD


def test_dose_error_carries_every_problem():
    error = DoseError({"sets": "Too many.", "weekdays": "None chosen."})
    assert error.problems == {"sets": "Too many.", "weekdays": "None chosen."}
    assert str(error) == "Too many.; None chosen."


def test_apply_dose_copies_and_names_what_changed_in_order(app):
    row = PlanItem(sets=2, reps=10, hold_seconds=30, times_per_day=1, weekdays="0123456", coach_note="")
    changed = apply_dose(row, Dose(2, 12, None, 2, "024", "Breathe."), note_attr="coach_note")
    assert changed == ["reps", "hold_seconds", "times_per_day", "weekdays", "coach_note"]
    assert Dose.of(row, note_attr="coach_note") == Dose(2, 12, None, 2, "024", "Breathe.")
    assert apply_dose(row, Dose(2, 12, None, 2, "024", "Breathe."), note_attr="coach_note") == []
    program_row = ProgramItem(sets=1, reps=1, hold_seconds=None, times_per_day=1, weekdays="0", note="")
    assert apply_dose(program_row, Dose(1, 1, None, 1, "0", "New note.")) == ["note"]
    with app.test_request_context(), pytest.raises(DoseError) as caught:
        apply_dose(row, Dose(99, 12, None, 2, "024", "Changed."), note_attr="coach_note")
    assert set(caught.value.problems) == {"sets"}
    assert (row.sets, row.coach_note) == (2, "Breathe.")  # nothing written


@dataclass(eq=False)
class Row:
    id: int
    position: int


def test_move_swaps_with_the_neighbour_and_renumbers():
    rows = [Row(1, 0), Row(2, 5), Row(3, 9)]
    assert move(rows, rows[2], "up") is True
    assert [(r.id, r.position) for r in sorted(rows, key=lambda r: r.position)] == [(1, 0), (3, 1), (2, 2)]
    assert move(rows, rows[0], "down") is True
    assert [(r.id, r.position) for r in sorted(rows, key=lambda r: r.position)] == [(3, 0), (1, 1), (2, 2)]


def test_move_refuses_past_either_end_and_changes_nothing():
    rows = [Row(1, 0), Row(2, 1)]
    assert move(rows, rows[0], "up") is False
    assert move(rows, rows[1], "down") is False
    assert [(r.id, r.position) for r in rows] == [(1, 0), (2, 1)]


def test_move_orders_rows_of_one_position_by_id():
    rows = [Row(2, 0), Row(1, 0), Row(3, 0)]
    assert move(rows, rows[0], "down") is True  # order (1, 2, 3): row 2 goes below row 3
    assert [(r.id, r.position) for r in sorted(rows, key=lambda r: r.position)] == [(1, 0), (3, 1), (2, 2)]


def test_next_position():
    assert next_position([]) == 0
    assert next_position([Row(1, 4), Row(2, 1)]) == 5


def test_append_library_items_adds_each_new_item_once_with_its_usual_dose(db):
    present = make_item(title="Present")
    removed = make_item(title="Removed")
    fresh = make_item(title="Fresh", default_sets=4, default_days_per_week=2)
    rows = [
        PlanItem(library_item_id=present.id, position=3, is_active=True),
        PlanItem(library_item_id=removed.id, position=7, is_active=False),
    ]
    added, skipped = append_library_items(
        rows, [fresh, present, fresh, removed, present], PlanItem, note_attr="coach_note"
    )
    assert skipped == [present]  # named once, though given twice
    assert [(row.library_item, row.position, row.sets, row.weekdays, row.coach_note) for row in added] == [
        (fresh, 8, 4, "14", ""),
        (removed, 9, 2, "0123456", ""),  # a removed item is not on the plan: it comes back
    ]
    assert rows[2:] == added


def test_append_library_items_refuses_a_retired_item_before_changing_anything(db):
    retired = make_item(title="Retired", is_active=False)
    rows = []
    with pytest.raises(RetiredItemError):
        append_library_items(rows, [make_item(title="Fine"), retired], ProgramItem)
    assert rows == []


def test_the_second_row_moves_up_to_first():
    rows = [Row(1, 0), Row(2, 1), Row(3, 2)]
    assert move(rows, rows[1], "up") is True
    assert [(r.id, r.position) for r in sorted(rows, key=lambda r: r.position)] == [(2, 0), (1, 1), (3, 2)]


def test_an_item_without_usual_times_or_days_is_once_a_day_every_day():
    from portal.exercises.models import LibraryItem

    bare = LibraryItem(default_sets=None, default_reps=None, default_hold_seconds=None)
    bare.default_times_per_day, bare.default_days_per_week = None, None
    assert Dose.defaults_for(bare) == Dose(None, None, None, 1, "0123456", "")
    bare.default_days_per_week = 9  # not a number of days a week: every day
    assert Dose.defaults_for(bare).weekdays == "0123456"


def test_program_rows_have_no_removed_state_and_a_note_of_their_own(db):
    present = make_item(title="Present")
    fresh = make_item(title="Fresh")
    rows = [ProgramItem(library_item_id=present.id, position=0)]
    added, skipped = append_library_items(rows, [present, fresh], ProgramItem)
    assert skipped == [present]
    assert [(row.library_item, row.position, row.note) for row in added] == [(fresh, 1, "")]
