"""Escalation: a red-flag alert nobody acknowledged in time goes to the clinic's on-call contacts and admins.

An open Emergency alert not acknowledged within SAFETY_ESCALATION_MINUTES of taking its tier, or an Urgent (Today
tier) one within URGENT_ESCALATION_MINUTES, is escalated once: ``escalated_at`` is set by a conditional UPDATE
(``WHERE escalated_at IS NULL AND acknowledged_at IS NULL AND open_key = 1``) and the emails are queued in the same
transaction, so of two workers running at once exactly one escalates each alert, and its emails go out once
(the outbox leases each before sending). Attention (Soon) alerts are not escalated: the coach calls within one
working day. Once escalated, the alert shows "Escalated <time>" to every coach of the clinic and to admins, who may
acknowledge it (``portal.care.alerts.can_acknowledge``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, update

from portal import audit
from portal.auth.models import Clinic, OnCallContact, Role, User
from portal.care.models import Alert, AlertKind
from portal.care.red_flags import TIER_RULES
from portal.extensions import db
from portal.mail import public_url, queue_email
from portal.timeutil import utcnow


def escalation_minutes(tier: str) -> int | None:
    """Minutes an alert of ``tier`` may wait unacknowledged (None: it is never escalated)."""
    setting = TIER_RULES[tier].escalation_setting
    return int(current_app.config[setting]) if setting else None


def _overdue(now: datetime):
    """WHERE clause: an open, unacknowledged, not yet escalated red flag past its tier's deadline."""
    deadlines = [
        and_(Alert.tier == str(tier), Alert.tier_at <= now - timedelta(minutes=escalation_minutes(tier)))
        for tier, rule in TIER_RULES.items()
        if rule.escalation_setting
    ]
    return and_(
        Alert.kind == str(AlertKind.RED_FLAG),
        Alert.open_key == 1,
        Alert.acknowledged_at.is_(None),
        Alert.escalated_at.is_(None),
        or_(*deadlines),
    )


def escalate_due_alerts(now: datetime | None = None) -> list[int]:
    """Escalate every overdue alert this worker manages to claim; the ids it escalated. Caller commits."""
    now = now or utcnow()
    due = db.session.scalars(db.select(Alert.id).where(_overdue(now)).order_by(Alert.tier_at, Alert.id)).all()
    escalated = []
    for alert_id in due:
        claimed = db.session.execute(
            update(Alert)
            .where(Alert.id == alert_id, _overdue(now))
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue  # acknowledged, resolved or escalated by another worker meanwhile
        alert = db.session.get(Alert, alert_id)
        db.session.refresh(alert)
        _send_escalation(alert)
        audit.record("alert.escalate", alert, patient=alert.patient_id, tier=alert.tier)
        escalated.append(alert_id)
    return escalated


def escalation_recipients(clinic_id: int | None) -> list[str]:
    """Who an escalation emails: the clinic's on-call contacts and its active admins (every active admin when the
    clinic has none, so an escalation never reaches nobody); each address once."""
    contacts = db.session.scalars(db.select(OnCallContact.email).where(OnCallContact.clinic_id == clinic_id)).all()
    admins = db.session.scalars(
        db.select(User.email).where(User.role == Role.ADMIN, User.is_active.is_(True), User.clinic_id == clinic_id)
    ).all()
    if not admins:
        admins = db.session.scalars(
            db.select(User.email).where(User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)
        ).all()
    seen: dict[str, None] = {}
    for address in [*contacts, *admins]:
        seen.setdefault(address.lower(), None)
    return list(seen)


def _send_escalation(alert: Alert) -> None:
    """Queue the escalation emails (no health data: the clinic, the severity and how long it has waited)."""
    patient = alert.patient
    clinic = db.session.get(Clinic, patient.clinic_id) if patient.clinic_id else None
    minutes = escalation_minutes(alert.tier)
    clinic_name = clinic.name if clinic else _("the practice")
    for address in escalation_recipients(patient.clinic_id):
        queue_email(
            address,
            _("Escalated: a safety alert at %(clinic)s is waiting", clinic=clinic_name),
            _(
                "A safety alert of severity %(severity)s at %(clinic)s has waited %(minutes)s minutes and nobody has "
                "acknowledged it yet.\n"
                "Please sign in to Holistiq Coach (coaches: Alerts; admins: Safety) and acknowledge it once you are "
                "handling it:\n"
                "%(link)s\n"
                "The clinic's phone: %(phone)s",
                severity=alert.severity_name,
                clinic=clinic_name,
                minutes=minutes,
                link=public_url("auth.index"),
                phone=clinic.phone if clinic else "-",
            ),
        )
