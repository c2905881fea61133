"""Creating and changing accounts: shared by the admin pages and the CLI."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from portal import audit
from portal.auth import sessions
from portal.auth.models import Role, User, email_lookup
from portal.auth.passwords import hash_password
from portal.extensions import db
from portal.i18n import DEFAULT_LANGUAGE, supported_language


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
            raise AccountError(_("Choose the patient's clinic."), "clinic_id")
        coach = db.session.get(User, coach_id) if coach_id else None
        if coach is None or coach.role != Role.COACH or not coach.is_active:
            raise AccountError(_("Choose an active coach for the patient."), "coach_id")
    elif coach_id:
        raise AccountError(_("Only patients have a coach."), "coach_id")


def create_account(
    *,
    email: str,
    name: str,
    role: str,
    clinic_id: int | None = None,
    coach_id: int | None = None,
    password: str | None = None,
    phone: str = "",
    language: str = DEFAULT_LANGUAGE,
    date_of_birth: date | None = None,
    actor: User | None = None,
) -> User:
    """Add a new account to the session (caller commits). Audited."""
    email = email.strip().lower()
    if role not in {r.value for r in Role}:
        raise AccountError(_("Choose a role."), "role")
    if email_taken(email):
        raise AccountError(_("An account with this email already exists."), "email")
    validate_assignment(role, clinic_id, coach_id if role == Role.PATIENT else None)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        clinic_id=clinic_id,
        coach_id=coach_id if role == Role.PATIENT else None,
        phone=phone,
        language=supported_language(language),
        date_of_birth=date_of_birth,
        password_hash=hash_password(password) if password else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("account.create", user, actor=actor, role=role)
    return user


def has_patients(coach: User) -> bool:
    """Whether any active patient still works with this coach."""
    return (
        db.session.scalar(db.select(User.id).where(User.coach_id == coach.id, User.is_active.is_(True)).limit(1))
        is not None
    )


def update_account(
    user: User,
    *,
    email: str,
    name: str,
    role: str,
    clinic_id: int | None,
    coach_id: int | None,
    phone: str = "",
    language: str | None = None,
    date_of_birth: date | None = None,
    actor: User | None = None,
) -> list[str]:
    """Change an account's profile, role and clinic (caller commits). Audited; returns the changed fields.

    Every rule is checked before anything changes, so an AccountError leaves the
    account as it was. A patient's coach is checked here but moved by
    portal.care.assignment.reassign_coach, since their plan moves with them;
    staff lose any coach.
    """
    email, name = email.strip().lower(), name.strip()
    if role not in {r.value for r in Role}:
        raise AccountError(_("Choose a role."), "role")
    if email_taken(email, except_id=user.id):
        raise AccountError(_("An account with this email already exists."), "email")
    if role != user.role and actor is not None and user.id == actor.id:
        raise AccountError(_("You cannot change your own role."), "role")
    validate_assignment(role, clinic_id, coach_id if role == Role.PATIENT else None)
    if user.role == Role.COACH and role != Role.COACH and has_patients(user):
        raise AccountError(_("Reassign this coach's patients before changing the role."), "role")
    # None keeps the language as it is; an unknown code is English, never an error.
    language = user.language if language is None else supported_language(language)
    changes = sorted(
        key
        for key, value in (
            ("email", email),
            ("name", name),
            ("role", role),
            ("clinic_id", clinic_id),
            ("phone", phone),
            ("language", language),
            ("date_of_birth", date_of_birth),
        )
        if getattr(user, key) != value
    )
    user.email, user.name, user.role = email, name, role
    user.clinic_id, user.phone, user.language = clinic_id, phone, language
    user.date_of_birth = date_of_birth
    if "role" in changes:
        sessions.end_all(user)  # a new role starts with a new session
    if role != Role.PATIENT:
        user.coach_id = None
    audit.record("account.update", user, actor=actor, changes=changes)
    return changes


def set_active(user: User, active: bool, *, actor: User | None = None) -> None:
    """Deactivate (ending every session) or reactivate; accounts are never deleted.

    Nobody deactivates themselves, a coach keeps no active patients behind, and a
    patient comes back only with an active coach to look after them.
    """
    if not active:
        if actor is not None and user.id == actor.id:
            raise AccountError(_("You cannot deactivate your own account."))
        if user.role == Role.COACH and has_patients(user):
            raise AccountError(_("This coach still has patients. Reassign them first."))
    elif user.role == Role.PATIENT and (user.coach is None or not user.coach.is_active):
        raise AccountError(_("Give this patient an active coach before reactivating."), "coach_id")
    if user.is_active == active:
        return
    user.is_active = active
    if not active:
        sessions.end_all(user)
    audit.record("account.reactivate" if active else "account.deactivate", user, actor=actor)
