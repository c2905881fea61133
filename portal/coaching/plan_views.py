"""Coach pages: a patient's page with their plan editor (assign, details, items, pause, end)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.auth.access import patient_for_coach_or_404
from portal.auth.models import User
from portal.care import pauses as pause_service
from portal.care import plans as plan_service
from portal.care import progress as progress_service
from portal.care.dosing import DoseError
from portal.care.models import Plan, PlanItem
from portal.care.plans import STALE_MESSAGE, PlanChanged
from portal.coaching import programs as program_service
from portal.coaching import review as review_service
from portal.coaching.blueprint import bp
from portal.coaching.forms import (
    DIRECTIONS,
    AddPlanItemsForm,
    AssignPlanForm,
    PauseItemForm,
    PlanActionForm,
    PlanDetailsForm,
    PlanItemForm,
)
from portal.coaching.intake_review import intake_review
from portal.coaching.picker import LIST_INFO, LIST_SUCCESS, PickerTarget, add_picked_items, render_picker
from portal.coaching.program_views import content_locale
from portal.extensions import db
from portal.timeutil import local_today


def _patient_page(patient: User, *, status: int = 200, stale: bool = False, **forms):
    """Render the patient's page: current plan with its edit controls, assign form, history."""
    plan = plan_service.active_plan(patient.id)
    version = str(plan.version) if plan else ""
    assign = forms.get("assign") or AssignPlanForm(formdata=None, prefix="assign")
    assign.program_id.choices = [(None, _("Choose a program"))] + program_service.program_choices(
        current_user, content_locale()
    )
    if not assign.start_date.data:
        assign.start_date.data = local_today(patient.tz)
    assign.current_plan.data = f"{plan.id}:{plan.version}" if plan else ""
    action = PlanActionForm(formdata=None)
    action.version.data = version
    return (
        render_template(
            "coaching/patient.html",
            patient=patient,
            plan=plan,
            items=plan_service.active_items(plan) if plan else [],
            history=plan_service.plan_history(patient.id),
            assign=assign,
            action=action,
            stale=stale,
            stale_message=STALE_MESSAGE,
            summary=review_service.patient_summary(patient),
            intake=intake_review(patient, has_plan=plan is not None),
            resolve_form=forms.get("resolve"),
            failed_alert_id=forms.get("failed_alert_id"),
            pause_form=forms.get("pause"),
            failed_pause_item_id=forms.get("failed_pause_item_id"),
            max_pause_reason=pause_service.MAX_REASON,
            # Charts, check-ins, adherence per item and alert history.
            review=review_service.patient_page_context(patient, progress_service.chart_days(request.args.get("days"))),
        ),
        status,
    )


def render_patient_page(patient: User, *, status: int = 200, **forms):
    """The patient's page, for other coaching views that answer with it (a failed resolve)."""
    return _patient_page(patient, status=status, **forms)


def _stale(patient: User):
    db.session.rollback()
    return _patient_page(patient, status=409, stale=True)


@bp.errorhandler(PlanChanged)
def plan_changed(error: PlanChanged):
    """Every plan edit made on an outdated copy: nothing saved, the current plan shown with a 409."""
    return _stale(error.patient)


@bp.route("/patients/<int:patient_id>")
def patient_detail(patient_id: int):
    patient = patient_for_coach_or_404(patient_id)
    # Opening a patient's record is a view of health data: audited. The page is rendered
    # before the commit, so committing does not expire the coach and the patient and send
    # two more SELECTs; if the commit fails, the error page goes out instead of the record,
    # so nothing is shown unaudited. The audit row is added after the render: added before,
    # the render's first query would flush it, and on SQLite the write lock would be held
    # for the whole render, making every other writer wait.
    page = _patient_page(patient)
    audit.record("patient.view", patient, patient=patient.id)
    db.session.commit()
    return page


@bp.route("/patients/<int:patient_id>/plans", methods=["POST"])
def assign_plan(patient_id: int):
    patient = patient_for_coach_or_404(patient_id)
    form = AssignPlanForm(prefix="assign")
    form.program_id.choices = [(None, _("Choose a program"))] + program_service.program_choices(
        current_user, content_locale()
    )
    valid = form.validate_on_submit()
    valid = form.check_start_date(patient.tz) and valid
    if not valid:
        return _patient_page(patient, status=400, assign=form)
    program = program_service.program_for_coach(form.program_id.data, current_user)
    current = plan_service.active_plan(patient.id)
    seen = form.current_plan.data or ""
    if (current is None and seen) or (current is not None and seen != f"{current.id}:{current.version}"):
        raise PlanChanged(patient)
    if current is not None and form.confirm_replace.data != "yes":
        # Replacing a plan the patient follows is deliberate: ask first, without JavaScript,
        # carrying every field (and the version seen) to the second submit.
        form.confirm_replace.data = "yes"
        return render_template(
            "coaching/replace_plan.html", patient=patient, plan=current, program=program, assign=form
        )
    plan = plan_service.assign_program(
        patient,
        program,
        current_user,
        title=form.title.data or program_service.plan_title(program, patient),
        goals=form.goals.data or "",
        start_date=form.start_date.data,
        replaces=current,
    )
    try:
        db.session.commit()
    except IntegrityError:
        # Another coach assigned a plan at the same moment: theirs stands.
        raise PlanChanged(patient) from None
    flash(
        _(
            "%(name)s now follows “%(title)s” from %(day)s.",
            name=patient.name,
            title=plan.title,
            day=format_date(plan.start_date, "long"),
        ),
        "success",
    )
    return redirect(url_for("coaching.patient_detail", patient_id=patient.id))


def _plan_for_edit(patient: User, plan_id: int, form) -> Plan:
    return plan_service.plan_for_edit(patient, plan_id, form.expected_version())


def _item_for_edit(patient_id: int, plan_id: int, item_id: int, form) -> tuple[User, Plan, PlanItem]:
    """The coach's patient, their plan at the form's version and one of its active items (404/409 otherwise)."""
    patient = patient_for_coach_or_404(patient_id)
    plan = _plan_for_edit(patient, plan_id, form)
    return patient, plan, plan_service.active_plan_item(plan, item_id)


@bp.route("/patients/<int:patient_id>/plans/<int:plan_id>/details", methods=["GET", "POST"])
def edit_plan_details(patient_id: int, plan_id: int):
    patient = patient_for_coach_or_404(patient_id)
    if request.method == "GET":
        plan = plan_service.active_plan(patient.id)
        if plan is None or plan.id != plan_id:
            abort(404)
        form = PlanDetailsForm(obj=plan)
        form.version.data = str(plan.version)
        return render_template("coaching/plan_details.html", patient=patient, plan=plan, form=form)
    form = PlanDetailsForm()
    plan = _plan_for_edit(patient, plan_id, form)
    valid = form.validate_on_submit()
    valid = form.check_start_date(patient.tz) and valid
    if not valid:
        return render_template("coaching/plan_details.html", patient=patient, plan=plan, form=form), 400
    changed = plan_service.update_details(
        plan,
        title=form.title.data or plan.title,
        goals=form.goals.data or "",
        start_date=form.start_date.data,
        actor=current_user,
    )
    db.session.commit()
    flash(_("Plan details saved.") if changed else _("Nothing changed."), "success" if changed else "info")
    return redirect(url_for("coaching.patient_detail", patient_id=patient.id))


def _plan_picker(patient: User, plan: Plan) -> PickerTarget:
    return PickerTarget(
        kind="plan",
        heading=_("Add items to %(name)s's plan", name=patient.name),
        back_url=url_for("coaching.patient_detail", patient_id=patient.id),
        back_label=patient.name,
        add_url=url_for("coaching.add_plan_items", patient_id=patient.id, plan_id=plan.id),
        list_url=url_for("coaching.patient_detail", patient_id=patient.id, _anchor="plan-items"),
        present_ids=frozenset(item.library_item_id for item in plan_service.active_items(plan)),
    )


@bp.route("/patients/<int:patient_id>/plans/<int:plan_id>/items/add")
def plan_item_picker(patient_id: int, plan_id: int):
    patient = patient_for_coach_or_404(patient_id)
    plan = plan_service.active_plan(patient.id)
    if plan is None or plan.id != plan_id:
        abort(404)
    form = AddPlanItemsForm(formdata=None)
    form.version.data = str(plan.version)
    return render_picker(_plan_picker(patient, plan), form)


@bp.route("/patients/<int:patient_id>/plans/<int:plan_id>/items", methods=["POST"])
def add_plan_items(patient_id: int, plan_id: int):
    patient = patient_for_coach_or_404(patient_id)
    form = AddPlanItemsForm()
    plan = _plan_for_edit(patient, plan_id, form)
    return add_picked_items(
        _plan_picker(patient, plan), form, lambda items: plan_service.add_items(plan, items, current_user)
    )


@bp.route("/patients/<int:patient_id>/plans/<int:plan_id>/items/<int:item_id>", methods=["GET", "POST"])
def edit_plan_item(patient_id: int, plan_id: int, item_id: int):
    patient = patient_for_coach_or_404(patient_id)
    if request.method == "GET":
        plan = plan_service.active_plan(patient.id)
        if plan is None or plan.id != plan_id:
            abort(404)
        item = plan_service.active_plan_item(plan, item_id)
        form = PlanItemForm(formdata=None)
        form.load(item, note_attr="coach_note")
        form.version.data = str(plan.version)
        return render_template("coaching/plan_item.html", patient=patient, plan=plan, item=item, form=form)
    form = PlanItemForm()
    plan = _plan_for_edit(patient, plan_id, form)
    item = plan_service.active_plan_item(plan, item_id)
    if form.validate_on_submit():
        try:
            changed = plan_service.update_item(plan, item, form.dose(), current_user)
        except DoseError as error:
            db.session.rollback()
            for name, message in error.problems.items():
                getattr(form, name).errors = [message]
        else:
            db.session.commit()
            flash(
                _("“%(title)s” saved.", title=item.library_item.title) if changed else _("Nothing changed."),
                LIST_SUCCESS if changed else LIST_INFO,
            )
            return redirect(url_for("coaching.patient_detail", patient_id=patient.id, _anchor="plan-items"))
    return render_template("coaching/plan_item.html", patient=patient, plan=plan, item=item, form=form), 400


@bp.route("/patients/<int:patient_id>/plans/<int:plan_id>/items/<int:item_id>/remove", methods=["POST"])
def remove_plan_item(patient_id: int, plan_id: int, item_id: int):
    form = PlanActionForm()
    patient, plan, item = _item_for_edit(patient_id, plan_id, item_id, form)
    if not form.validate_on_submit():
        abort(400)
    plan_service.remove_item(plan, item, current_user)
    db.session.commit()
    flash(_("“%(title)s” was taken off the plan.", title=item.library_item.title), LIST_SUCCESS)
    return redirect(url_for("coaching.patient_detail", patient_id=patient.id, _anchor="plan-items"))


@bp.route("/patients/<int:patient_id>/plans/<int:plan_id>/items/<int:item_id>/move", methods=["POST"])
def move_plan_item(patient_id: int, plan_id: int, item_id: int):
    form = PlanActionForm()
    patient, plan, item = _item_for_edit(patient_id, plan_id, item_id, form)
    if not form.validate_on_submit() or form.direction.data not in DIRECTIONS:
        abort(400, _("Choose to move the item up or down."))
    plan_service.move_item(plan, item, form.direction.data, current_user)
    db.session.commit()
    return redirect(url_for("coaching.patient_detail", patient_id=patient.id, _anchor=f"plan-item-{item.id}"))


@bp.route("/patients/<int:patient_id>/plans/<int:plan_id>/items/<int:item_id>/pause", methods=["POST"])
def pause_plan_item(patient_id: int, plan_id: int, item_id: int):
    """Pause one item (it stays on the plan, with the reason shown to the patient) until resumed."""
    form = PauseItemForm()
    patient, plan, item = _item_for_edit(patient_id, plan_id, item_id, form)
    if not form.validate_on_submit():
        # The reason's problem is shown beside it, in that item's pause form, left open.
        return _patient_page(patient, status=422, pause=form, failed_pause_item_id=item.id)
    try:
        pause_service.pause_item(plan, item, form.reason.data, current_user)
        db.session.commit()
    except pause_service.PauseError as error:
        db.session.rollback()
        abort(409, str(error))
    except IntegrityError:
        # Another request paused it at the same moment: theirs stands.
        db.session.rollback()
        abort(409, _("“%(title)s” is already paused.", title=item.library_item.title))
    flash(
        _(
            "“%(title)s” is paused. %(name)s sees your reason on their plan.",
            title=item.library_item.title,
            name=patient.name,
        ),
        "success",
    )
    return redirect(url_for("coaching.patient_detail", patient_id=patient.id, _anchor=f"plan-item-{item.id}"))


@bp.route("/patients/<int:patient_id>/plans/<int:plan_id>/items/<int:item_id>/resume", methods=["POST"])
def resume_plan_item(patient_id: int, plan_id: int, item_id: int):
    """End an item's pause: it is on the patient's days again from today."""
    form = PlanActionForm()
    patient, plan, item = _item_for_edit(patient_id, plan_id, item_id, form)
    if not form.validate_on_submit():
        abort(400)
    try:
        pause_service.resume_item(plan, item, current_user)
    except pause_service.PauseError as error:
        db.session.rollback()
        abort(409, str(error))
    db.session.commit()
    flash(_("“%(title)s” is back on %(name)s's plan.", title=item.library_item.title, name=patient.name), "success")
    return redirect(url_for("coaching.patient_detail", patient_id=patient.id, _anchor=f"plan-item-{item.id}"))


@bp.route("/patients/<int:patient_id>/plans/<int:plan_id>/end", methods=["POST"])
def end_plan(patient_id: int, plan_id: int):
    patient = patient_for_coach_or_404(patient_id)
    form = PlanActionForm()
    plan = _plan_for_edit(patient, plan_id, form)
    if not form.validate_on_submit():
        abort(400)
    plan_service.end_plan(plan, current_user)
    db.session.commit()
    flash(_("“%(title)s” ended. It stays in the plan history.", title=plan.title), "success")
    return redirect(url_for("coaching.patient_detail", patient_id=patient.id))
