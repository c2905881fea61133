"""Access control: role checks (403) and object-level ownership checks (404).

One place owns each decision, so no view re-implements "may this user see this".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from portal.auth.models import Role, User
from portal.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: str) -> Callable[[F], F]:
    """Let in signed-in users of the given roles; others get 403, anonymous users the login page."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


patient_required = roles_required(Role.PATIENT)
coach_required = roles_required(Role.COACH)
admin_required = roles_required(Role.ADMIN)
staff_required = roles_required(Role.COACH, Role.ADMIN)


def can_view_patient(viewer: User, patient: User) -> bool:
    """A patient sees themself; a coach sees patients assigned to them."""
    if patient.role != Role.PATIENT:
        return False
    if viewer.role == Role.PATIENT:
        return viewer.id == patient.id
    if viewer.role == Role.COACH:
        return patient.coach_id == viewer.id
    return False


def patient_for_coach_or_404(patient_id: int, coach: User | None = None) -> User:
    """The patient with this id if it is on the coach's roster, else 404."""
    coach = coach or current_user
    patient = db.session.get(User, patient_id)
    if patient is None or not can_view_patient(coach, patient):
        abort(404)
    return patient
