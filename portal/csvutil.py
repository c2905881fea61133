"""CSV cells that a spreadsheet shows as text and never runs as a formula (CSV injection).

Every CSV the portal hands out (a patient's own export, the audit log) writes its
rows through here, so one rule covers them all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

# A spreadsheet evaluates a cell starting with = + - @ as a formula; a leading tab
# or carriage return is stripped by some of them, exposing the formula behind it.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value with an apostrophe in front when it is text a spreadsheet would run as a formula.

    Only text is changed. Numbers, booleans and None are written as they are, so
    a negative number (-3) stays a number the spreadsheet can add up; the same
    characters typed as text ("-3") get the apostrophe, since text comes from
    people and we cannot tell a number from the start of a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_line(cells: Iterable[Any]) -> str:
    """One CSV record, line ending included, with every cell passed through safe_cell."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue()


def csv_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV document: the header, then the rows, every cell made safe."""
    return csv_line(header) + "".join(csv_line(row) for row in rows)
