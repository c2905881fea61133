"""Append-only audit trail of security- and health-relevant actions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_at", "at"),
        Index("ix_audit_actor_at", "actor_id", "at"),
        Index("ix_audit_patient_at", "patient_id", "at"),
        Index("ix_audit_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[int | None]
    # The patient whose record the action touched, so the audit log filters by patient.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")

    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")
    patient = relationship("User", foreign_keys=[patient_id], lazy="joined")

    @property
    def detail_dict(self) -> dict[str, Any]:
        try:
            return json.loads(self.detail) if self.detail else {}
        except ValueError:
            return {"text": self.detail}


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target) -> None:  # noqa: ARG001
    raise RuntimeError("Audit events are append-only.")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:  # noqa: ARG001
    raise RuntimeError("Audit events are append-only.")


def record(
    action: str,
    target: Any = None,
    *,
    actor: Any = None,
    patient: Any = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the current session; the caller's commit stores it.

    ``target`` is any model instance (its class name and id are kept); ``patient``
    is the patient whose record is involved. ``detail`` must never hold secrets.
    """
    if actor is None and has_request_context():
        # An API request acts as its bearer token's user, never as a cookie that came along.
        actor = g.get("api_user") or (current_user if current_user.is_authenticated else None)
    ip = ""
    if has_request_context():
        ip = request.remote_addr or ""
    patient_id = getattr(patient, "id", patient)
    if patient_id is None and target is not None and getattr(target, "role", None) == "patient":
        patient_id = target.id
    event_row = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", actor),
        target_type=type(target).__name__ if target is not None else "",
        target_id=getattr(target, "id", None),
        patient_id=patient_id,
        ip=ip[:64],
        detail=json.dumps(detail, default=str, sort_keys=True) if detail else "",
    )
    db.session.add(event_row)
    return event_row
