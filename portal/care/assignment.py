"""Which coach looks after a patient: moving a patient, with their active plan, to another coach."""

from __future__ import annotations

from flask_babel import gettext as _

from portal import audit
from portal.auth.accounts import AccountError
from portal.auth.models import Role, User
from portal.care.models import Plan, PlanStatus
from portal.extensions import db


def reassign_coach(patient: User, coach: User | None, *, actor: User | None = None) -> None:
    """Give the patient a new coach (caller commits). Audited as 'account.reassign_coach'.

    The patient's active plan moves too, so the new coach can adjust it; messages
    already follow the patient. Ended plans keep the coach who ran them.
    """
    if patient.role != Role.PATIENT:
        raise AccountError(_("Only patients have a coach."), "coach_id")
    if coach is None or coach.role != Role.COACH or not coach.is_active:
        raise AccountError(_("Choose an active coach."), "coach_id")
    if patient.coach_id == coach.id:
        return
    previous = patient.coach_id
    patient.coach_id = coach.id
    for plan in db.session.scalars(
        db.select(Plan).where(Plan.patient_id == patient.id, Plan.status == PlanStatus.ACTIVE)
    ):
        plan.coach_id = coach.id
    audit.record("account.reassign_coach", patient, actor=actor, from_coach=previous, to_coach=coach.id)
