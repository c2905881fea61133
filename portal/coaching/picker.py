"""The library picker: find items by words, kind and body area, tick several, add them together.

Programs and plans share this page, its form and its flow; their views only say where the items
go (a ``PickerTarget``) and which service adds them. The page lists every active item and hides
the ones the search leaves out, so without JavaScript the GET search narrows the list and with it
(static/js/picker.js) the same rows are filtered as the coach types, the query kept in the URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import flash, redirect, render_template, request
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func

from portal.care.models import Plan, PlanItem, Program, ProgramItem
from portal.coaching.forms import NOT_IN_LIBRARY, AddItemsForm, ItemPickerFilterForm
from portal.exercises.library import active_items_in_order, library_query
from portal.exercises.models import LibraryItem
from portal.exercises.translations import item_texts
from portal.extensions import db
from portal.i18n import DEFAULT_LANGUAGE, current_language

# Confirmations shown beside the list they are about (the "list_flashes" macro), not at the top.
LIST_SUCCESS, LIST_INFO = "list-success", "list-info"
RECENT_COUNT = 8  # how many of the coach's recently used items the picker lists first


@dataclass(frozen=True)
class PickerTarget:
    """Where picked items go: a program or a patient's plan."""

    kind: str  # "plan" or "program"
    heading: str
    back_url: str  # the page the items list is on
    back_label: str
    add_url: str  # the POST that adds the ticked items
    list_url: str  # where the coach lands after adding: the items list, by its anchor
    present_ids: frozenset[int] = field(default_factory=frozenset)  # library items already there


def _locale() -> str | None:
    language = current_language()
    return None if language == DEFAULT_LANGUAGE else language


def recently_used(coach_id: int, limit: int = RECENT_COUNT) -> list[int]:
    """The library items this coach added most recently to their plans or programs, newest first
    (one statement: the newest row of each item in either, ordered by when it was added)."""
    in_plans = (
        db.select(PlanItem.library_item_id.label("item_id"), func.max(Plan.created_at).label("at"))
        .join(Plan, Plan.id == PlanItem.plan_id)
        .where(Plan.coach_id == coach_id)
        .group_by(PlanItem.library_item_id)
    )
    in_programs = (
        db.select(ProgramItem.library_item_id.label("item_id"), func.max(Program.updated_at).label("at"))
        .join(Program, Program.id == ProgramItem.program_id)
        .where(Program.owner_id == coach_id)
        .group_by(ProgramItem.library_item_id)
    )
    both = in_plans.union_all(in_programs).subquery()
    newest = (
        db.select(both.c.item_id)
        .group_by(both.c.item_id)
        .order_by(func.max(both.c.at).desc(), both.c.item_id)
        .limit(limit)
    )
    return list(db.session.scalars(newest))


def render_picker(target: PickerTarget, form: AddItemsForm, *, status: int = 200):
    """The picker page: every active item, those outside the search hidden, ticked ones kept."""
    search = ItemPickerFilterForm(request.args)
    if not search.validate():
        status = 400
    locale = _locale()
    items = list(db.session.scalars(library_query(locale=locale)))
    # The coach's recently used items come first, under their own heading; then the rest in order.
    recent_ids = recently_used(current_user.id) if current_user.is_coach else []
    position = {item_id: n for n, item_id in enumerate(recent_ids)}
    recent = sorted((item for item in items if item.id in position), key=lambda item: position[item.id])
    others = [item for item in items if item.id not in position]
    shown = {item.id for item in items}
    if not search.errors and (search.q.data or search.kind.data or search.area.data):
        query = library_query(search.q.data, search.kind.data, search.area.data, locale=locale)
        shown = set(db.session.scalars(query.with_only_columns(LibraryItem.id)))
    ticked = set(form.items.data or [])
    return (
        render_template(
            "coaching/add_items.html",
            picker=target,
            form=form,
            search=search,
            items=recent + others,
            recent_count=len(recent),
            shown=shown | ticked,
            ticked=ticked,
            add_url=_with_query(target.add_url),
        ),
        status,
    )


def _with_query(url: str) -> str:
    """The add URL carrying the search, so a refused add shows the same rows again."""
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def add_picked_items(target: PickerTarget, form: AddItemsForm, add: Callable[[list[LibraryItem]], tuple[list, list]]):
    """Add every ticked item or none: nothing ticked, an unknown or retired item -> 400 on the
    picker with the reason; otherwise commit, confirm beside the items list and go there."""
    if not form.validate_on_submit():
        return render_picker(target, form, status=400)
    library_items = active_items_in_order(form.items.data)
    if library_items is None:
        form.items.errors = [str(NOT_IN_LIBRARY)]
        return render_picker(target, form, status=400)
    added, skipped = add(library_items)
    db.session.commit()
    texts = item_texts(library_items, current_language())
    if added:
        titles = _titles([texts[row.library_item_id].title for row in added])
        flash(
            ngettext(
                "%(num)d item added with its usual dose: %(titles)s. Adjust it below if needed.",
                "%(num)d items added with their usual doses: %(titles)s. Adjust them below if needed.",
                len(added),
                titles=titles,
            ),
            LIST_SUCCESS,
        )
    if skipped:
        flash(_already_there(target.kind, [texts[item.id].title for item in skipped]), LIST_INFO)
    return redirect(target.list_url)


def _already_there(kind: str, titles: list[str]) -> str:
    if kind == "plan":
        return ngettext(
            "%(titles)s is already in this plan, so it was not added again.",
            "%(titles)s are already in this plan, so they were not added again.",
            len(titles),
            titles=_titles(titles),
        )
    return ngettext(
        "%(titles)s is already in this program, so it was not added again.",
        "%(titles)s are already in this program, so they were not added again.",
        len(titles),
        titles=_titles(titles),
    )


def _titles(titles: list[str]) -> str:
    return ", ".join(f"“{title}”" for title in titles)
