"""Library pages: browse and read items (everyone signed in); coaches add, edit and retire items."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from portal.auth.access import coach_required
from portal.exercises.blueprint import bp
from portal.exercises.dosage import describe_dose, describe_weekdays
from portal.exercises.forms import ActionForm, LibraryFilterForm, LibraryItemForm
from portal.exercises.library import create_item, library_query, set_item_active, update_item
from portal.exercises.models import LibraryItem
from portal.extensions import db

PAGE_SIZE = 24


@bp.app_template_filter("dose")
def dose_filter(item) -> str:
    """A plan, program or library item's dose in words (library items use their defaults)."""
    if isinstance(item, LibraryItem):
        return describe_dose(
            item.default_sets, item.default_reps, item.default_hold_seconds, item.default_times_per_day
        )
    return describe_dose(item.sets, item.reps, item.hold_seconds, item.times_per_day)


@bp.app_template_filter("weekdays")
def weekdays_filter(weekdays: str) -> str:
    return describe_weekdays(weekdays or "")


@bp.route("/")
@login_required
def browse():
    form = LibraryFilterForm(request.args)
    if not form.validate():
        return render_template("exercises/browse.html", form=form, pagination=None), 400
    include_retired = current_user.is_coach and form.retired.data == "yes"
    query = library_query(form.q.data, form.kind.data, form.area.data, include_retired=include_retired)
    pagination = db.paginate(query, per_page=PAGE_SIZE, max_per_page=PAGE_SIZE, error_out=False)
    return render_template("exercises/browse.html", form=form, pagination=pagination)


def _item_or_404(item_id: int) -> LibraryItem:
    item = db.session.get(LibraryItem, item_id)
    if item is None:
        abort(404)
    return item


# A patient reads an item with their own dose, and may read a retired item their plan still
# has. Plans sit above the library (care imports the library, never the reverse), so the
# patients feature registers the lookup: (patient id, library item id) -> plan item or None.
_plan_item_lookups: list[Callable[[int, int], Any]] = []


def register_plan_item_lookup(lookup: Callable[[int, int], Any]) -> None:
    if lookup not in _plan_item_lookups:
        _plan_item_lookups.append(lookup)


def _own_plan_item(patient_id: int, library_item_id: int) -> Any:
    for lookup in _plan_item_lookups:
        found = lookup(patient_id, library_item_id)
        if found is not None:
            return found
    return None


@bp.route("/<int:item_id>")
@login_required
def detail(item_id: int):
    item = _item_or_404(item_id)
    plan_item = _own_plan_item(current_user.id, item.id) if current_user.is_patient else None
    # A retired item stays readable by coaches and by patients whose plan still has it.
    if not item.is_active and not current_user.is_coach and plan_item is None:
        abort(404)
    return render_template("exercises/detail.html", item=item, plan_item=plan_item, action_form=ActionForm())


@bp.route("/new", methods=["GET", "POST"])
@coach_required
def create():
    form = LibraryItemForm()
    if request.method == "GET":
        form.default_times_per_day.data = 1
        form.default_days_per_week.data = 7
    if form.validate_on_submit():
        try:
            item = create_item(form.values(), current_user)
            db.session.commit()
        except IntegrityError:
            # Another coach took the same slug a moment ago: pick the next free one.
            db.session.rollback()
            item = create_item(form.values(), current_user)
            db.session.commit()
        flash(_("“%(title)s” is in the library.", title=item.title), "success")
        return redirect(url_for("exercises.detail", item_id=item.id))
    status = 400 if request.method == "POST" else 200
    return render_template("exercises/form.html", form=form, item=None), status


@bp.route("/<int:item_id>/edit", methods=["GET", "POST"])
@coach_required
def edit(item_id: int):
    item = _item_or_404(item_id)
    form = LibraryItemForm(obj=item)
    if form.validate_on_submit():
        changed = update_item(item, form.values(), current_user)
        db.session.commit()
        flash(_("Item saved.") if changed else _("Nothing changed."), "success" if changed else "info")
        return redirect(url_for("exercises.detail", item_id=item.id))
    status = 400 if request.method == "POST" else 200
    return render_template("exercises/form.html", form=form, item=item), status


@bp.route("/<int:item_id>/retire", methods=["POST"])
@coach_required
def retire(item_id: int):
    item = _item_or_404(item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    set_item_active(item, False, current_user)
    db.session.commit()
    flash(
        _(
            "“%(title)s” is retired: it can no longer be added to plans or programs. Plans that use it keep it.",
            title=item.title,
        ),
        "success",
    )
    return redirect(url_for("exercises.detail", item_id=item.id))


@bp.route("/<int:item_id>/restore", methods=["POST"])
@coach_required
def restore(item_id: int):
    item = _item_or_404(item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    set_item_active(item, True, current_user)
    db.session.commit()
    flash(_("“%(title)s” is back in the library.", title=item.title), "success")
    return redirect(url_for("exercises.detail", item_id=item.id))
