"""All drawings: every active library item's picture, small and large, on one page for staff to review.

`make figures` renders the same sheet (templates/exercises/_drawing_sheet.html) into docs/figures/.
"""

from __future__ import annotations

from flask import render_template
from flask_login import login_required

from portal.auth.access import staff_required
from portal.exercises.blueprint import bp
from portal.exercises.models import ItemKind, LibraryItem
from portal.extensions import db

KIND_ORDER = (ItemKind.EXERCISE, ItemKind.POSTURE, ItemKind.DIET)  # as Today groups them


def sheet_groups() -> list[list[LibraryItem]]:
    """Every active item, one list per kind (movements first), each in the starter content's order
    (coaches' own items after, by title)."""
    query = (
        db.select(LibraryItem).where(LibraryItem.is_active.is_(True)).order_by(LibraryItem.position, LibraryItem.title)
    )
    by_kind: dict[str, list[LibraryItem]] = {kind.value: [] for kind in KIND_ORDER}
    for item in db.session.scalars(query):
        by_kind.setdefault(item.kind, []).append(item)
    return [items for items in by_kind.values() if items]


@bp.route("/drawings")
@login_required
@staff_required
def drawings():
    return render_template("exercises/drawings.html", groups=sheet_groups())
