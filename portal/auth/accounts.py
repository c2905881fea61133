"""Creating and changing accounts: shared by the admin pages and the CLI."""

from __future__ import annotations

from portal import audit
from portal.auth.models import Role, User, email_lookup
from portal.auth.passwords import hash_password
from portal.extensions import db


class AccountError(ValueError):
    """An account change that breaks a rule; the message is shown to the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def email_taken(email: str, *, except_id: int | None = None) -> bool:
    existing = db.session.scalar(email_lookup(email))
    return existing is not None and existing.id != except_id


def validate_assignment(role: str, clinic_id: int | None, coach_id: int | None) -> None:
    """A patient needs a clinic and an active coach; staff have no coach."""
    if role == Role.PATIENT:
        if clinic_id is None:
            raise AccountError("Choose the patient's clinic.", "clinic_id")
        coach = db.session.get(User, coach_id) if coach_id else None
        if coach is None or coach.role != Role.COACH or not coach.is_active:
            raise AccountError("Choose an active coach for the patient.", "coach_id")
    elif coach_id:
        raise AccountError("Only patients have a coach.", "coach_id")


def create_account(
    *,
    email: str,
    name: str,
    role: str,
    clinic_id: int | None = None,
    coach_id: int | None = None,
    password: str | None = None,
    phone: str = "",
    actor: User | None = None,
) -> User:
    """Add a new account to the session (caller commits). Audited."""
    email = email.strip().lower()
    if role not in {r.value for r in Role}:
        raise AccountError("Choose a role.", "role")
    if email_taken(email):
        raise AccountError("An account with this email already exists.", "email")
    validate_assignment(role, clinic_id, coach_id if role == Role.PATIENT else None)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        clinic_id=clinic_id,
        coach_id=coach_id if role == Role.PATIENT else None,
        phone=phone,
        password_hash=hash_password(password) if password else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("account.create", user, actor=actor, role=role)
    return user


def set_active(user: User, active: bool, *, actor: User | None = None) -> None:
    """Deactivate (ending every session) or reactivate; accounts are never deleted."""
    if user.is_active == active:
        return
    user.is_active = active
    if not active:
        user.rotate_session_token()
    audit.record("account.reactivate" if active else "account.deactivate", user, actor=actor)


def reassign_coach(patient: User, coach: User, *, actor: User | None = None) -> None:
    if patient.role != Role.PATIENT:
        raise AccountError("Only patients have a coach.", "coach_id")
    if coach.role != Role.COACH or not coach.is_active:
        raise AccountError("Choose an active coach.", "coach_id")
    if patient.coach_id == coach.id:
        return
    previous = patient.coach_id
    patient.coach_id = coach.id
    # The patient's active plan follows them to the new coach.
    from portal.care.models import Plan, PlanStatus

    for plan in db.session.scalars(
        db.select(Plan).where(Plan.patient_id == patient.id, Plan.status == PlanStatus.ACTIVE)
    ):
        plan.coach_id = coach.id
    audit.record("account.reassign_coach", patient, actor=actor, from_coach=previous, to_coach=coach.id)
