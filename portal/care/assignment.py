"""Which coach looks after a patient: moving a patient, with their active plan, to another coach;
and what deactivating an account leaves behind, for the confirmation an admin sees first."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func

from portal import audit
from portal.auth.accounts import AccountError, deactivation_refusal
from portal.auth.models import Role, User
from portal.care.models import Alert, Plan, PlanStatus
from portal.extensions import db


@dataclass(frozen=True)
class CoachChange:
    """What reassigning a patient would do, for the confirmation an admin sees first."""

    patient: User
    current: User | None
    new: User
    other_clinic: bool  # the new coach works at another clinic than the patient's

    @property
    def changes_anything(self) -> bool:
        return self.current is None or self.current.id != self.new.id


def preview_coach_change(patient: User, coach: User | None) -> CoachChange:
    """Check a reassignment without making it (AccountError as ``reassign_coach`` would raise)."""
    _check(patient, coach)
    return CoachChange(
        patient=patient,
        current=patient.coach,
        new=coach,
        other_clinic=coach.clinic_id is not None and coach.clinic_id != patient.clinic_id,
    )


def _check(patient: User, coach: User | None) -> None:
    if patient.role != Role.PATIENT:
        raise AccountError(_("Only patients have a coach."), "coach_id")
    if coach is None or coach.role != Role.COACH or not coach.is_active:
        raise AccountError(_("Choose an active coach."), "coach_id")


def reassign_coach(patient: User, coach: User | None, *, actor: User | None = None) -> None:
    """Give the patient a new coach (caller commits). Audited as 'account.reassign_coach'.

    The patient's active plan moves too, so the new coach can adjust it; messages
    already follow the patient. Ended plans keep the coach who ran them.
    """
    _check(patient, coach)
    if patient.coach_id == coach.id:
        return
    previous = patient.coach
    patient.coach_id = coach.id
    for plan in db.session.scalars(
        db.select(Plan).where(Plan.patient_id == patient.id, Plan.status == PlanStatus.ACTIVE)
    ):
        plan.coach_id = coach.id
    audit.record(
        "account.reassign_coach",
        patient,
        actor=actor,
        from_coach=previous.name if previous is not None else None,
        from_coach_id=previous.id if previous is not None else None,
        to_coach=coach.name,
        to_coach_id=coach.id,
    )


@dataclass(frozen=True)
class Deactivation:
    """What deactivating ``user`` would leave behind, for the confirmation an admin sees first."""

    user: User
    refusal: str | None  # why it cannot be done now (see deactivation_refusal), else None
    open_alerts: int  # a patient's alerts still waiting for a coach
    active_plan: Plan | None  # a patient's plan in force
    patients: list[User]  # a coach's active patients, each to reassign first


def preview_deactivation(user: User, actor: User | None = None) -> Deactivation:
    """Look at what deactivating ``user`` would leave behind, without changing anything."""
    open_alerts, plan, patients = 0, None, []
    if user.role == Role.PATIENT:
        open_alerts = db.session.scalar(
            db.select(func.count(Alert.id)).where(Alert.patient_id == user.id, Alert.resolved_at.is_(None))
        )
        plan = db.session.scalar(db.select(Plan).where(Plan.patient_id == user.id, Plan.status == PlanStatus.ACTIVE))
    elif user.role == Role.COACH:
        patients = list(
            db.session.scalars(
                db.select(User)
                .where(User.coach_id == user.id, User.is_active.is_(True))  # as has_patients
                .order_by(User.name, User.id)
            )
        )
    return Deactivation(
        user=user,
        refusal=deactivation_refusal(user, actor),
        open_alerts=open_alerts or 0,
        active_plan=plan,
        patients=patients,
    )
