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
    """An account change that breaks a rule; the message is shown to the user, next to ``field``.

    ``problems`` holds every rule the change breaks, by field (the first is the message), so a
    form can show them all at once."""

    def __init__(self, message: str, field: str | None = None, problems: dict[str, str] | None = None):
        super().__init__(message)
        self.field = field
        self.problems = problems or ({field: message} if field else {})


ROLES = frozenset(role.value for role in Role)


def email_taken(email: str, *, except_id: int | None = None) -> bool:
    existing = db.session.scalar(email_lookup(email))
    return existing is not None and existing.id != except_id


def assignment_problems(role: str, clinic_id: int | None, coach_id: int | None) -> dict[str, str]:
    """A patient needs a clinic and an active coach; staff have no coach. Both named at once."""
    problems = {}
    if role == Role.PATIENT:
        if clinic_id is None:
            problems["clinic_id"] = _("Choose the patient's clinic.")
        coach = db.session.get(User, coach_id) if coach_id else None
        if coach is None or coach.role != Role.COACH or not coach.is_active:
            problems["coach_id"] = _("Choose an active coach for the patient.")
    elif coach_id:
        problems["coach_id"] = _("Only patients have a coach.")
    return problems


def validate_assignment(role: str, clinic_id: int | None, coach_id: int | None) -> None:
    """Raise AccountError when the assignment breaks a rule of ``assignment_problems``."""
    _refuse(assignment_problems(role, clinic_id, coach_id))


def account_problems(
    *,
    email: str,
    role: str,
    clinic_id: int | None,
    coach_id: int | None,
    user: User | None = None,
    actor: User | None = None,
) -> dict[str, str]:
    """Every rule a new account (``user`` None) or a change to ``user`` breaks, by field, in the
    form's order; empty when there is none. Reads only: the admin's form shows them all at once."""
    if role not in ROLES:
        return {"role": _("Choose a role.")}
    problems = {}
    if email_taken(email.strip().lower(), except_id=user.id if user is not None else None):
        problems["email"] = _("An account with this email already exists.")
    if user is not None and role != user.role:
        if actor is not None and user.id == actor.id:
            problems["role"] = _("You cannot change your own role.")
        elif user.role == Role.COACH and has_patients(user):
            problems["role"] = _("Reassign this coach's patients before changing the role.")
    problems.update(assignment_problems(role, clinic_id, coach_id if role == Role.PATIENT else None))
    return problems


def _refuse(problems: dict[str, str]) -> None:
    if problems:
        field, message = next(iter(problems.items()))
        raise AccountError(message, field, problems)


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
    _refuse(account_problems(email=email, role=role, clinic_id=clinic_id, coach_id=coach_id))
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
    audit.record("account.create", user, actor=actor, name=user.name, role=role)
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
    _refuse(account_problems(email=email, role=role, clinic_id=clinic_id, coach_id=coach_id, user=user, actor=actor))
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
    audit.record("account.update", user, actor=actor, name=user.name, changes=changes)
    return changes


def deactivation_refusal(user: User, actor: User | None = None) -> str | None:
    """Why ``user`` cannot be deactivated now, or None: nobody deactivates themselves, and a coach
    keeps no active patients behind (they are reassigned first)."""
    if actor is not None and user.id == actor.id:
        return _("You cannot deactivate your own account.")
    if user.role == Role.COACH and has_patients(user):
        return _("This coach still has patients. Reassign them first.")
    return None


def set_active(user: User, active: bool, *, actor: User | None = None, reason: str = "") -> None:
    """Deactivate (ending every session; ``reason`` goes into the audit log) or reactivate;
    accounts are never deleted.

    Deactivation follows ``deactivation_refusal``; a patient comes back only with an active
    coach to look after them.
    """
    if not active:
        refusal = deactivation_refusal(user, actor)
        if refusal:
            raise AccountError(refusal)
    elif user.role == Role.PATIENT and (user.coach is None or not user.coach.is_active):
        raise AccountError(_("Give this patient an active coach before reactivating."), "coach_id")
    if user.is_active == active:
        return
    user.is_active = active
    if not active:
        sessions.end_all(user)
        audit.record("account.deactivate", user, actor=actor, name=user.name, **({"reason": reason} if reason else {}))
    else:
        audit.record("account.reactivate", user, actor=actor, name=user.name)
