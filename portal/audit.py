"""Append-only audit trail of security- and health-relevant actions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.local import LocalProxy

from portal.extensions import db
from portal.timeutil import utcnow

# Every action code the portal records, in words. One mapping: the audit page, its
# filter and the completeness test all read it, so a new code without words fails a test.
ACTION_LABELS: dict[str, Any] = {
    "2fa.disable": _l("Turned off two-step sign-in"),
    "api.token_issued": _l("Signed in to the phone app"),
    "api.refresh_reused": _l("Phone app sign-in ended: a used refresh token was sent again"),
    "exercises.resume": _l("Resumed paused exercises"),
    "fhir.bulk_download": _l("Downloaded the practice's FHIR export"),
    "fhir.bulk_export": _l("Made the practice's FHIR export"),
    "library.media_add": _l("Added a picture or video"),
    "library.media_remove": _l("Removed a picture or video"),
    "library.media_replace": _l("Replaced a picture or video"),
    "2fa.enable": _l("Turned on two-step sign-in"),
    "2fa.recovery_code_used": _l("Signed in with a recovery code"),
    "2fa.recovery_codes_reissued": _l("Issued new recovery codes"),
    "2fa.reset": _l("Reset two-step sign-in"),
    "account.create": _l("Created account"),
    "account.deactivate": _l("Deactivated account"),
    "account.invitation_sent": _l("Sent invitation"),
    "account.language": _l("Changed language"),
    "account.preferences": _l("Changed preferences"),
    "account.plan_times": _l("Changed when they do their plan"),
    "account.reactivate": _l("Reactivated account"),
    "account.reassign_coach": _l("Reassigned coach"),
    "account.reset_link_sent": _l("Sent password reset link"),
    "account.update": _l("Updated account"),
    "alert.resolve": _l("Resolved alert"),
    "alert.acknowledge": _l("Acknowledged alert"),
    "alert.raise_tier": _l("Red-flag alert raised to a higher tier"),
    "alert.escalate": _l("Escalated unacknowledged alert"),
    "alert.resume_notice_dismiss": _l("Dismissed the resumed-exercises notice"),
    "clinic.on_call_add": _l("Added on-call contact"),
    "clinic.on_call_remove": _l("Removed on-call contact"),
    "safety.export": _l("Downloaded safety figures"),
    "audit.export": _l("Downloaded audit log"),
    "clinic.create": _l("Added clinic"),
    "clinic.update": _l("Updated clinic"),
    "consent.give": _l("Agreed to a consent text"),
    "consent.publish": _l("Published consent texts"),
    "data.export": _l("Downloaded own data"),
    "goals.rate": _l("Rated own activities"),
    "intake.finish": _l("Finished the intake"),
    "invitation.accepted": _l("Accepted invitation"),
    "library.create": _l("Added library item"),
    "library.duplicate": _l("Copied library item"),
    "library.restore": _l("Restored library item"),
    "library.retire": _l("Retired library item"),
    "library.translation_create": _l("Added library translation"),
    "library.translation_remove": _l("Removed library translation"),
    "library.translation_update": _l("Updated library translation"),
    "library.update": _l("Updated library item"),
    "login.failed": _l("Failed sign-in"),
    "login.lockout": _l("Locked after failed sign-ins"),
    "login.success": _l("Signed in"),
    "logout": _l("Signed out"),
    "messages.view": _l("Viewed messages"),
    "outcomes.export": _l("Downloaded the outcome report"),
    "outcomes.patient_export": _l("Downloaded the per-patient outcome file"),
    "password.change": _l("Changed password"),
    "password.reset": _l("Reset password"),
    "password.reset_requested": _l("Asked for a password reset"),
    "patient.view": _l("Viewed patient record"),
    "plan.assign": _l("Assigned plan"),
    "plan.calendar_export": _l("Downloaded plan calendar"),
    "plan.end": _l("Ended plan"),
    "plan.item_add": _l("Added plan item"),
    "plan.item_move": _l("Moved plan item"),
    "plan.item_pause": _l("Paused plan item"),
    "plan.item_remove": _l("Removed plan item"),
    "plan.item_resume": _l("Resumed plan item"),
    "plan.item_update": _l("Changed plan item"),
    "plan.update": _l("Changed plan"),
    "program.archive": _l("Archived program"),
    "program.create": _l("Created program"),
    "program.duplicate": _l("Copied program"),
    "program.item_add": _l("Added program item"),
    "program.item_move": _l("Moved program item"),
    "program.item_remove": _l("Removed program item"),
    "program.item_update": _l("Changed program item"),
    "program.update": _l("Changed program"),
    "session.end": _l("Signed out a device"),
    "texts.code_sent": _l("Sent a code to turn on text reminders"),
    "texts.on": _l("Turned on text reminders"),
    "account.reminders": _l("Changed reminder settings"),
    "texts.off": _l("Turned off text reminders"),
    "push.on": _l("Turned on phone notifications"),
    "push.off": _l("Turned off phone notifications"),
    "session.end_others": _l("Signed out other devices"),
    "sessions.end_all": _l("Signed out everywhere"),
}

# Detail keys in words; a key without words is shown as it is stored.
DETAIL_LABELS: dict[str, Any] = {
    "activities": _l("Activities"),
    "changes": _l("Changes"),
    "content_type": _l("File type"),
    "clinic": _l("Clinic"),
    "codes_left": _l("Recovery codes left"),
    "count": _l("Sessions"),
    "days": _l("Days"),
    "detail_reason": _l("Reason"),
    "device": _l("Device"),
    "direction": _l("Direction"),
    "fields": _l("Fields"),
    "filters": _l("Filters"),
    "format": _l("Format"),
    "from_coach": _l("Previous coach"),
    "item": _l("Plan item"),
    "items": _l("Items"),
    "kind": _l("Kind"),
    "language": _l("Language"),
    "library_item": _l("Library item"),
    "locale": _l("Language"),
    "name": _l("Name"),
    "page": _l("Page"),
    "plan": _l("Plan"),
    "patients": _l("Patients"),
    "program": _l("Program"),
    "reason": _l("Reason"),
    "replaced_by_program": _l("Replaced by program"),
    "role": _l("Role"),
    "section": _l("Section"),
    "skipped_retired": _l("Retired items skipped"),
    "source": _l("Copied from"),
    "source_id": _l("Copied from"),
    "start_date": _l("Start date"),
    "title": _l("Title"),
    "to_coach": _l("New coach"),
    "version": _l("Version"),
}

# Detail keys that name a person: their name, with their id under "<key>_id" (older entries: the id).
PERSON_KEYS = ("from_coach", "to_coach")


def action_label(action: str) -> str:
    """An action code in words ("Reassigned coach"); an unknown code is shown as stored."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def action_choices() -> list[tuple[str, str]]:
    """The known actions for a filter, in words, alphabetically as read."""
    return sorted(((code, str(label)) for code, label in ACTION_LABELS.items()), key=lambda pair: pair[1].lower())


def _person_id(detail: dict[str, Any], key: str) -> Any:
    """The id of the person a detail names: ``<key>_id`` beside their name, or (older entries) the
    value itself."""
    return detail.get(f"{key}_id", detail.get(key, ""))


def _detail_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_detail_value(part) for part in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_detail_value(part)}" for key, part in value.items())
    if value is None:
        return "—"
    return str(value)


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

    @property
    def action_label(self) -> str:
        return action_label(self.action)

    def person_ids(self) -> set[int]:
        """Ids of the people the details name by id, so a page can look them all up at once."""
        detail = self.detail_dict
        return {int(value) for key in PERSON_KEYS if str(value := _person_id(detail, key)).isdigit()}

    def detail_fields(self, people: dict[int, str] | None = None) -> list[tuple[str, str]]:
        """The details as (label, value) pairs people can read; ``people`` names ids of PERSON_KEYS."""
        detail = self.detail_dict
        people = people or {}
        fields = []
        for key, value in detail.items():
            if key.endswith("_id") and key.removesuffix("_id") in detail:
                continue  # the id behind a name shown beside it ("item" and "item_id"): kept for the CSV
            label = str(DETAIL_LABELS.get(key, key.replace("_", " ")))
            person = _person_id(detail, key)
            if key in PERSON_KEYS and str(person).isdigit() and int(person) in people:
                fields.append((label, people[int(person)]))
            else:
                fields.append((label, _detail_value(value)))
        return fields


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target) -> None:  # noqa: ARG001
    raise RuntimeError("Audit events are append-only.")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:  # noqa: ARG001
    raise RuntimeError("Audit events are append-only.")


def _unproxied(value: Any) -> Any:
    return value._get_current_object() if isinstance(value, LocalProxy) else value


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
    # current_user is a proxy: the audit names what it stands for (a "User"), never "LocalProxy".
    target, actor, patient = (_unproxied(value) for value in (target, actor, patient))
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
