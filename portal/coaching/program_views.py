"""Coach pages: programs (reusable templates) and their items; program texts in the request's language."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.care.dosing import DoseError
from portal.care.models import Program
from portal.coaching import programs as program_service
from portal.coaching.blueprint import bp
from portal.coaching.forms import DIRECTIONS, AddItemsForm, DoseForm, ProgramActionForm, ProgramForm
from portal.coaching.picker import LIST_SUCCESS, PickerTarget, add_picked_items, render_picker
from portal.extensions import db
from portal.i18n import DEFAULT_LANGUAGE, current_language


def content_locale() -> str | None:
    """The request's language for library and program text, None for English (the stored text)."""
    language = current_language()
    return None if language == DEFAULT_LANGUAGE else language


@bp.app_template_global("program_text")
def program_text_global(program: Program) -> program_service.ProgramText:
    """A program's name and description in the request's language. The first lookup on a page loads
    the translations of every program the request has loaded, in one statement."""
    language = current_language()
    cache: dict[int, program_service.ProgramText] = g.setdefault("program_texts", {})
    if program.id not in cache:
        loaded = [obj for obj in db.session.identity_map.values() if isinstance(obj, Program)]
        pending = {obj.id: obj for obj in loaded if obj.id not in cache}
        pending[program.id] = program
        cache.update(program_service.program_texts(pending.values(), language))
    return cache[program.id]


@bp.route("/programs")
def programs():
    rows = db.session.execute(program_service.programs_query(current_user)).all()
    own = [row for row in rows if row.Program.owner_id == current_user.id]
    starter = [row for row in rows if row.Program.slug]
    return render_template("coaching/programs.html", own=own, starter=starter, action=ProgramActionForm())


@bp.route("/programs/new", methods=["GET", "POST"])
def new_program():
    form = ProgramForm()
    if form.validate_on_submit():
        program = program_service.create_program(current_user, form.name.data, form.description.data or "")
        db.session.commit()
        flash(_("Program created. Now add its items."), "success")
        return redirect(url_for("coaching.program_detail", program_id=program.id))
    status = 400 if request.method == "POST" else 200
    return render_template("coaching/program_form.html", form=form, program=None), status


def _program_page(program, *, status: int = 200):
    return (
        render_template(
            "coaching/program.html",
            program=program,
            editable=program_service.can_edit(program, current_user),
            action=ProgramActionForm(formdata=None),
        ),
        status,
    )


@bp.route("/programs/<int:program_id>")
def program_detail(program_id: int):
    return _program_page(program_service.program_for_coach(program_id, current_user))


@bp.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
def edit_program(program_id: int):
    program = program_service.program_for_coach(program_id, current_user, editable=True)
    form = ProgramForm(obj=program)
    if form.validate_on_submit():
        program_service.update_program(program, form.name.data, form.description.data or "", current_user)
        db.session.commit()
        flash(_("Program saved."), "success")
        return redirect(url_for("coaching.program_detail", program_id=program.id))
    status = 400 if request.method == "POST" else 200
    return render_template("coaching/program_form.html", form=form, program=program), status


@bp.route("/programs/<int:program_id>/duplicate", methods=["POST"])
def duplicate_program(program_id: int):
    program = program_service.program_for_coach(program_id, current_user)
    if not ProgramActionForm().validate_on_submit():
        abort(400)
    copy = program_service.duplicate_program(program, current_user)
    db.session.commit()
    flash(_("“%(title)s” is your own copy: change it as you like.", title=copy.name), "success")
    return redirect(url_for("coaching.program_detail", program_id=copy.id))


@bp.route("/programs/<int:program_id>/archive", methods=["POST"])
def archive_program(program_id: int):
    program = program_service.program_for_coach(program_id, current_user, editable=True)
    if not ProgramActionForm().validate_on_submit():
        abort(400)
    program_service.archive_program(program, current_user)
    db.session.commit()
    flash(
        _("“%(title)s” was removed from your programs. Plans made from it are not changed.", title=program.name),
        "success",
    )
    return redirect(url_for("coaching.programs"))


def _program_picker(program: Program) -> PickerTarget:
    name = program_text_global(program).name
    return PickerTarget(
        kind="program",
        heading=_("Add items to “%(name)s”", name=name),
        back_url=url_for("coaching.program_detail", program_id=program.id),
        back_label=name,
        add_url=url_for("coaching.add_program_items", program_id=program.id),
        list_url=url_for("coaching.program_detail", program_id=program.id, _anchor="program-items"),
        present_ids=frozenset(item.library_item_id for item in program.items),
    )


@bp.route("/programs/<int:program_id>/items/add")
def program_item_picker(program_id: int):
    program = program_service.program_for_coach(program_id, current_user, editable=True)
    return render_picker(_program_picker(program), AddItemsForm(formdata=None))


@bp.route("/programs/<int:program_id>/items", methods=["POST"])
def add_program_items(program_id: int):
    program = program_service.program_for_coach(program_id, current_user, editable=True)
    return add_picked_items(
        _program_picker(program),
        AddItemsForm(),
        lambda items: program_service.add_program_items(program, items, current_user),
    )


@bp.route("/programs/<int:program_id>/items/<int:item_id>", methods=["GET", "POST"])
def edit_program_item(program_id: int, item_id: int):
    program = program_service.program_for_coach(program_id, current_user, editable=True)
    item = program_service.program_item(program, item_id)
    form = DoseForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.load(item)
    elif form.validate_on_submit():
        try:
            program_service.update_program_item(program, item, form.dose(), current_user)
        except DoseError as error:
            db.session.rollback()
            for name, message in error.problems.items():
                getattr(form, name).errors = [message]
        else:
            db.session.commit()
            flash(_("“%(title)s” saved.", title=item.library_item.title), LIST_SUCCESS)
            return redirect(url_for("coaching.program_detail", program_id=program.id, _anchor="program-items"))
    status = 400 if request.method == "POST" else 200
    return render_template("coaching/program_item.html", program=program, item=item, form=form), status


@bp.route("/programs/<int:program_id>/items/<int:item_id>/remove", methods=["POST"])
def remove_program_item(program_id: int, item_id: int):
    program = program_service.program_for_coach(program_id, current_user, editable=True)
    item = program_service.program_item(program, item_id)
    if not ProgramActionForm().validate_on_submit():
        abort(400)
    program_service.remove_program_item(program, item, current_user)
    db.session.commit()
    flash(_("“%(title)s” was taken out of the program.", title=item.library_item.title), LIST_SUCCESS)
    return redirect(url_for("coaching.program_detail", program_id=program.id, _anchor="program-items"))


@bp.route("/programs/<int:program_id>/items/<int:item_id>/move", methods=["POST"])
def move_program_item(program_id: int, item_id: int):
    program = program_service.program_for_coach(program_id, current_user, editable=True)
    item = program_service.program_item(program, item_id)
    form = ProgramActionForm()
    if not form.validate_on_submit() or form.direction.data not in DIRECTIONS:
        abort(400, _("Choose to move the item up or down."))
    program_service.move_program_item(program, item, form.direction.data, current_user)
    db.session.commit()
    return redirect(url_for("coaching.program_detail", program_id=program.id, _anchor=f"program-item-{item.id}"))
