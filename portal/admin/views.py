"""Admin area: accounts, clinics and the audit log. Every change is audited."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import available_timezones

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, or_
from sqlalchemy.orm import aliased, selectinload

from portal import audit
from portal.admin.blueprint import bp
from portal.admin.forms import (
    AccountFilterForm,
    AccountForm,
    ActionForm,
    AuditFilterForm,
    ClinicForm,
    DeactivateForm,
    OnCallContactForm,
    ReassignForm,
)
from portal.audit import AuditEvent
from portal.auth import sessions, tokens, twofactor
from portal.auth.access import admin_required
from portal.auth.accounts import AccountError, account_problems, create_account, set_active, update_account
from portal.auth.models import Clinic, OnCallContact, Role, User
from portal.auth.services import send_password_link
from portal.care.assignment import preview_coach_change, preview_deactivation, reassign_coach
from portal.clinics import ClinicError, add_on_call_contact, remove_on_call_contact, save_clinic
from portal.csvutil import csv_line
from portal.extensions import db
from portal.outbox import deliver_after_response
from portal.pagination import page_arg
from portal.sqlutil import contains_text
from portal.timeutil import DEFAULT_TIMEZONE

PAGE_SIZE = 25
US_TIMEZONES = sorted(tz for tz in available_timezones() if tz.startswith("America/") or tz.startswith("US/"))


@bp.before_request
@admin_required
def require_admin():
    """Every admin page is for admins only (403 for other roles)."""
    return None


def _clinic_choices(blank: str) -> list[tuple]:
    clinics = db.session.execute(db.select(Clinic.id, Clinic.name).order_by(Clinic.name)).all()
    return [(None, blank)] + [(c.id, c.name) for c in clinics]


def _coach_choices(blank: str | None = None) -> list[tuple]:
    blank = blank or _("No coach")  # translated per request, not once at import
    coaches = db.session.execute(
        db.select(User.id, User.name).where(User.role == Role.COACH, User.is_active.is_(True)).order_by(User.name)
    ).all()
    return [(None, blank)] + [(c.id, c.name) for c in coaches]


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/")
def home():
    return redirect(url_for("admin.accounts"))


@bp.route("/accounts")
def accounts():
    form = AccountFilterForm(request.args)
    form.clinic.choices = _clinic_choices(_("Any clinic"))
    if not form.validate():
        return render_template("admin/accounts.html", form=form, pagination=None), 400
    # The coach of each patient comes in one extra query, not one per row.
    query = db.select(User).options(selectinload(User.coach)).order_by(User.name, User.id)
    if form.q.data:
        query = query.where(or_(contains_text(User.name, form.q.data), contains_text(User.email, form.q.data)))
    if form.role.data:
        query = query.where(User.role == form.role.data)
    if form.clinic.data:
        query = query.where(User.clinic_id == form.clinic.data)
    if form.active.data:
        query = query.where(User.is_active.is_(form.active.data == "yes"))
    pagination = db.paginate(query, page=page_arg(), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE, error_out=False)
    return render_template("admin/accounts.html", form=form, pagination=pagination)


def _prepare_account_form(form: AccountForm) -> None:
    form.clinic_id.choices = _clinic_choices(_("No clinic"))
    form.coach_id.choices = _coach_choices()


def _apply_field_error(form: AccountForm | ClinicForm, error: AccountError | ClinicError) -> None:
    """Show a service's refusal next to the field it names (every field an AccountError names),
    else as a message at the top."""
    problems = getattr(error, "problems", None) or {error.field: str(error)}
    for name, message in problems.items():
        target = getattr(form, name, None) if name else None
        if target is not None:
            target.errors = [*target.errors, message]
        else:
            flash(message, "danger")


def _checked_account_form(form: AccountForm, user: User | None = None) -> bool:
    """Validate the account form and the account rules together, so every problem shows at once
    beside its field (the form's own checks and the rules of the account service)."""
    valid = form.validate_on_submit()
    if request.method != "POST" or form.role.errors:
        return valid
    values = _account_values(form)
    problems = account_problems(
        email=values["email"] or "",
        role=values["role"],
        clinic_id=values["clinic_id"],
        coach_id=values["coach_id"],
        user=user,
        actor=current_user,
    )
    for name, message in problems.items():
        field = getattr(form, name)
        if not field.errors:  # the form's own word on a field comes first (a bad choice, a bad email)
            field.errors = [*field.errors, message]
    return valid and not problems


@bp.route("/accounts/new", methods=["GET", "POST"])
def create_account_view():
    form = AccountForm()
    _prepare_account_form(form)
    if request.method == "GET":
        form.role.data = request.args.get("role", Role.PATIENT.value)
    if _checked_account_form(form):
        try:
            user = create_account(
                **_account_values(form),
                actor=current_user,
            )
        except AccountError as error:
            db.session.rollback()
            _apply_field_error(form, error)
        else:
            db.session.commit()
            email = send_password_link(user, tokens.INVITE)
            audit.record("account.invitation_sent", user, name=user.name)
            db.session.commit()
            deliver_after_response(email)
            flash(
                _("Account created for %(name)s. An invitation to set a password was emailed.", name=user.name),
                "success",
            )
            return redirect(url_for("admin.account_detail", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/account_form.html", form=form, user=None, keeps_coach=False), status


@bp.route("/accounts/<int:user_id>")
def account_detail(user_id: int):
    user = _user_or_404(user_id)
    reassign = ReassignForm(prefix="reassign")
    reassign.coach_id.choices = _coach_choices(_("Choose a coach"))
    return render_template(
        "admin/account_detail.html",
        user=user,
        reassign=reassign,
        action_form=ActionForm(),
        session_count=len(sessions.active_for(user)),
    )


@bp.route("/accounts/<int:user_id>/edit", methods=["GET", "POST"])
def edit_account(user_id: int):
    user = _user_or_404(user_id)
    form = AccountForm(obj=user)
    _prepare_account_form(form)
    # A patient changes coach only through "Reassign", which asks first: here the coach stays.
    keeps_coach = user.role == Role.PATIENT
    if keeps_coach:
        form.coach_id.data = user.coach_id
    if _checked_account_form(form, user):
        try:
            update_account(
                user,
                **_account_values(form),
                actor=current_user,
            )
            if user.role == Role.PATIENT and not keeps_coach:
                # A new patient (a role change) gets their first coach; the plan follows a coach.
                reassign_coach(user, db.session.get(User, form.coach_id.data), actor=current_user)
        except AccountError as error:
            db.session.rollback()
            _apply_field_error(form, error)
        else:
            db.session.commit()
            flash(_("Account saved."), "success")
            return redirect(url_for("admin.account_detail", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/account_form.html", form=form, user=user, keeps_coach=keeps_coach), status


@bp.route("/accounts/<int:user_id>/deactivate", methods=["GET", "POST"])
def deactivate_account(user_id: int):
    """Ask first, on a page of its own: why (kept in the audit log), and what follows (the patient's
    open alerts and plan, the coach's patients to reassign first)."""
    user = _user_or_404(user_id)
    if not user.is_active:
        flash(_("%(name)s is already deactivated.", name=user.name), "info")
        return redirect(url_for("admin.account_detail", user_id=user.id)), 303
    form = DeactivateForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                set_active(user, False, actor=current_user, reason=form.reason.data)
            except AccountError as error:
                db.session.rollback()
                flash(str(error), "danger")
                return redirect(url_for("admin.account_detail", user_id=user.id)), 303
            db.session.commit()
            flash(_("%(name)s is deactivated and signed out everywhere.", name=user.name), "success")
            return redirect(url_for("admin.account_detail", user_id=user.id))
        status = 400
    preview = preview_deactivation(user, current_user)
    return render_template("admin/deactivate_confirm.html", user=user, preview=preview, form=form), status


@bp.route("/accounts/<int:user_id>/reactivate", methods=["POST"])
def reactivate_account(user_id: int):
    return _set_active(user_id, True, _("{name} is active again."))


def _account_values(form: AccountForm) -> dict:
    """The account fields of the create and edit forms, as the account services take them."""
    return {
        "email": form.email.data,
        "name": form.name.data,
        "role": form.role.data,
        "clinic_id": form.clinic_id.data,
        "coach_id": form.coach_id.data,
        "phone": form.phone.data or "",
        "language": form.language.data,
        "date_of_birth": form.date_of_birth.data,
    }


def _account_for_action(user_id: int) -> User:
    """The account an action button on its page posts about, once the button's CSRF check passed."""
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return user


def _set_active(user_id: int, active: bool, done_message: str):
    user = _account_for_action(user_id)
    try:
        set_active(user, active, actor=current_user)
    except AccountError as error:
        flash(str(error), "danger")
        return redirect(url_for("admin.account_detail", user_id=user.id)), 303
    db.session.commit()
    flash(done_message.format(name=user.name), "success")
    return redirect(url_for("admin.account_detail", user_id=user.id))


@bp.route("/accounts/<int:user_id>/reassign", methods=["POST"])
def reassign_patient(user_id: int):
    user = _user_or_404(user_id)
    form = ReassignForm(prefix="reassign")
    form.coach_id.choices = _coach_choices(_("Choose a coach"))
    if user.role != Role.PATIENT:
        abort(400, _("Only patients have a coach."))
    if not form.validate_on_submit():
        flash(" ".join(str(error) for error in form.coach_id.errors) or _("Choose a coach."), "danger")
        return redirect(url_for("admin.account_detail", user_id=user.id)), 303
    coach = db.session.get(User, form.coach_id.data)
    try:
        change = preview_coach_change(user, coach)
    except AccountError as error:
        flash(str(error), "danger")
        return redirect(url_for("admin.account_detail", user_id=user.id)), 303
    if not change.changes_anything:
        flash(_("%(name)s already works with %(coach)s. Nothing changed.", name=user.name, coach=coach.name), "info")
        return redirect(url_for("admin.account_detail", user_id=user.id)), 303
    if form.confirm.data != "yes":
        # The first submit only asks; the confirmation page posts again with confirm=yes.
        form.confirm.data = "yes"
        return render_template("admin/reassign_confirm.html", user=user, change=change, form=form)
    reassign_coach(user, coach, actor=current_user)
    db.session.commit()
    flash(_("%(name)s now works with %(coach)s.", name=user.name, coach=user.coach.name), "success")
    return redirect(url_for("admin.account_detail", user_id=user.id))


@bp.route("/accounts/<int:user_id>/send-link", methods=["POST"])
def send_link(user_id: int):
    user = _account_for_action(user_id)
    if not user.is_active:
        flash(_("Reactivate the account before sending a link."), "danger")
        return redirect(url_for("admin.account_detail", user_id=user.id)), 303
    purpose = tokens.INVITE if user.password_hash is None else tokens.RESET
    email = send_password_link(user, purpose)
    audit.record(
        "account.invitation_sent" if purpose == tokens.INVITE else "account.reset_link_sent", user, name=user.name
    )
    db.session.commit()
    deliver_after_response(email)
    flash(_("A link to set a password was emailed to %(email)s.", email=user.email), "success")
    return redirect(url_for("admin.account_detail", user_id=user.id))


@bp.route("/accounts/<int:user_id>/reset-two-factor", methods=["POST"])
def reset_two_factor(user_id: int):
    """Remove someone's authenticator (lost phone); they set up a new one at their next sign-in."""
    user = _account_for_action(user_id)
    if user.id == current_user.id:
        flash(_("You cannot reset your own two-step sign-in here; use your account page."), "danger")
        return redirect(url_for("admin.account_detail", user_id=user.id)), 303
    if not user.totp_secret and not user.totp_enabled:
        flash(_("%(name)s has no two-step sign-in to reset.", name=user.name), "info")
        return redirect(url_for("admin.account_detail", user_id=user.id))
    twofactor.disable(user, actor=current_user, action="2fa.reset")
    db.session.commit()
    flash(_("Two-step sign-in of %(name)s is reset and they are signed out everywhere.", name=user.name), "success")
    return redirect(url_for("admin.account_detail", user_id=user.id))


@bp.route("/accounts/<int:user_id>/end-sessions", methods=["POST"])
def end_sessions(user_id: int):
    """Sign someone out on every device (a lost phone, a shared computer, a suspected break-in)."""
    user = _account_for_action(user_id)
    ended = sessions.end_all(user, keep=current_user.current_session if user.id == current_user.id else None)
    audit.record("sessions.end_all", user, name=user.name, count=ended)
    db.session.commit()
    flash(
        ngettext(
            "%(num)d session of %(name)s has ended.", "%(num)d sessions of %(name)s have ended.", ended, name=user.name
        ),
        "success",
    )
    return redirect(url_for("admin.account_detail", user_id=user.id))


@bp.route("/clinics")
def clinics():
    rows = db.session.execute(
        db.select(Clinic, func.count(User.id))
        .outerjoin(User, (User.clinic_id == Clinic.id) & (User.role == Role.PATIENT) & User.is_active.is_(True))
        .group_by(Clinic.id)
        .order_by(Clinic.name)
    ).all()
    return render_template("admin/clinics.html", rows=rows)


@bp.route("/clinics/new", methods=["GET", "POST"], defaults={"clinic_id": None})
@bp.route("/clinics/<int:clinic_id>/edit", methods=["GET", "POST"])
def edit_clinic(clinic_id: int | None):
    clinic = db.session.get(Clinic, clinic_id) if clinic_id else Clinic(timezone=DEFAULT_TIMEZONE)
    if clinic is None:
        abort(404)
    form = ClinicForm(obj=clinic)
    form.timezone.choices = [(tz, tz) for tz in US_TIMEZONES]
    if form.validate_on_submit():
        try:
            save_clinic(
                clinic,
                name=form.name.data,
                city=form.city.data,
                address=form.address.data,
                phone=form.phone.data,
                timezone=form.timezone.data,
                actor=current_user,
            )
        except ClinicError as error:
            db.session.rollback()
            _apply_field_error(form, error)
        else:
            db.session.commit()
            flash(_("Clinic saved."), "success")
            return redirect(url_for("admin.clinics"))
    status = 400 if request.method == "POST" else 200
    return _clinic_page(form, clinic if clinic_id else None, status=status)


def _clinic_page(form: ClinicForm, clinic: Clinic | None, on_call_form: OnCallContactForm | None = None, status=200):
    """The clinic's page: its details, then (for a saved clinic) its on-call contacts and the form adding one."""
    return (
        render_template(
            "admin/clinic_form.html",
            form=form,
            clinic=clinic,
            on_call_form=on_call_form or OnCallContactForm(formdata=None, prefix="oncall"),
            remove_form=ActionForm(formdata=None),
        ),
        status,
    )


def _clinic_or_404(clinic_id: int) -> Clinic:
    clinic = db.session.get(Clinic, clinic_id)
    if clinic is None:
        abort(404)
    return clinic


@bp.route("/clinics/<int:clinic_id>/on-call", methods=["POST"])
def add_on_call(clinic_id: int):
    """Add an on-call contact; a bad name, email or phone is shown beside its field and nothing is saved."""
    clinic = _clinic_or_404(clinic_id)
    on_call_form = OnCallContactForm(prefix="oncall")
    if not on_call_form.validate():
        form = ClinicForm(obj=clinic, formdata=None)
        form.timezone.choices = [(tz, tz) for tz in US_TIMEZONES]
        return _clinic_page(form, clinic, on_call_form, status=400 if on_call_form.csrf_token.errors else 422)
    contact = add_on_call_contact(
        clinic,
        name=on_call_form.name.data,
        email=on_call_form.email.data,
        phone=on_call_form.phone.data,
        actor=current_user,
    )
    db.session.commit()
    flash(_("%(name)s is now an on-call contact of %(clinic)s.", name=contact.name, clinic=clinic.name), "success")
    return redirect(url_for("admin.edit_clinic", clinic_id=clinic.id, _anchor="on-call"))


@bp.route("/clinics/<int:clinic_id>/on-call/<int:contact_id>/remove", methods=["POST"])
def remove_on_call(clinic_id: int, contact_id: int):
    clinic = _clinic_or_404(clinic_id)
    contact = db.session.get(OnCallContact, contact_id)
    if contact is None or contact.clinic_id != clinic.id:
        abort(404)
    if not ActionForm().validate():
        abort(400, _("Your form expired. Please send it again."))
    name = contact.name
    remove_on_call_contact(contact, actor=current_user)
    db.session.commit()
    flash(_("%(name)s is no longer an on-call contact of %(clinic)s.", name=name, clinic=clinic.name), "success")
    return redirect(url_for("admin.edit_clinic", clinic_id=clinic.id, _anchor="on-call"))


def _audit_query(form: AuditFilterForm, *columns):
    """The filtered log, newest first: whole events, or ``columns`` (given the actor and patient aliases).

    Actor and patient are always outer-joined once, so an export never looks them up row by row.
    """
    actor = aliased(User)
    patient = aliased(User)
    selected = columns[0](actor, patient) if columns else (AuditEvent,)
    query = (
        db.select(*selected)
        .outerjoin(actor, AuditEvent.actor_id == actor.id)
        .outerjoin(patient, AuditEvent.patient_id == patient.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    if form.actor.data:
        query = query.where(func.lower(actor.email) == form.actor.data.lower())
    if form.patient.data:
        query = query.where(func.lower(patient.email) == form.patient.data.lower())
    if form.action.data:
        query = query.where(AuditEvent.action == form.action.data)
    if form.date_from.data:
        query = query.where(AuditEvent.at >= datetime.combine(form.date_from.data, time.min))
    if form.date_to.data:
        query = query.where(AuditEvent.at < datetime.combine(form.date_to.data + timedelta(days=1), time.min))
    return query


def _csv_columns(actor, patient) -> tuple:
    return (
        AuditEvent.at,
        actor.email,
        AuditEvent.action,
        AuditEvent.target_type,
        AuditEvent.target_id,
        patient.email,
        AuditEvent.ip,
        AuditEvent.detail,
    )


def _audit_filter_form() -> AuditFilterForm:
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("All actions")), *audit.action_choices()]
    return form


def _people_named_in(events: list[AuditEvent]) -> dict[int, str]:
    """Names and emails of the people the events' details name by id, in one query."""
    ids = set().union(*(event.person_ids() for event in events)) if events else set()
    if not ids:
        return {}
    rows = db.session.execute(db.select(User.id, User.name, User.email).where(User.id.in_(ids)))
    return {user_id: f"{name} ({email})" for user_id, name, email in rows}


@bp.route("/audit")
def audit_log():
    form = _audit_filter_form()
    if not form.validate():
        return render_template("admin/audit.html", form=form, pagination=None, people={}), 400
    pagination = db.paginate(_audit_query(form), page=page_arg(), per_page=50, max_per_page=50, error_out=False)
    people = _people_named_in(list(pagination.items))
    return render_template("admin/audit.html", form=form, pagination=pagination, people=people)


@bp.route("/audit.csv")
def audit_log_csv():
    form = _audit_filter_form()
    if not form.validate():
        abort(400, _("Check the filter values."))
    audit.record("audit.export")
    db.session.commit()

    query = _audit_query(form, _csv_columns).execution_options(yield_per=500)

    def rows():
        yield csv_line(["at_utc", "actor", "action", "target_type", "target_id", "patient", "ip", "detail"])
        # Stream in batches so a long log does not sit in memory. Every cell, not only the
        # detail, goes through the CSV rule: emails are typed by people too.
        for at, actor_email, action, target_type, target_id, patient_email, ip, detail in db.session.execute(query):
            yield csv_line(
                [
                    at.isoformat(timespec="seconds"),
                    actor_email or "",
                    action,
                    target_type,
                    target_id or "",
                    patient_email or "",
                    ip,
                    detail,
                ]
            )

    # The generator runs while the server sends the body, after the view has returned:
    # stream_with_context keeps the request (and its database session) alive until the last row.
    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit-log.csv"},
    )
