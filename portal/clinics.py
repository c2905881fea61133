"""Clinics: saving them under their rules, and the lookups pages share (footer, safety messages)."""

from __future__ import annotations

import time

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import func

from portal import audit
from portal.auth.models import Clinic, OnCallContact, User
from portal.extensions import db
from portal.sqlutil import forget_on_write
from portal.state import portal_state

_TTL_SECONDS = 60.0


class ClinicError(ValueError):
    """A clinic change that breaks a rule; the message is shown next to ``field``."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def save_clinic(
    clinic: Clinic,
    *,
    name: str,
    city: str,
    address: str | None,
    phone: str,
    timezone: str,
    actor: User | None = None,
) -> Clinic:
    """Create (a clinic not yet stored) or update a clinic (caller commits). Audited.

    Names are unique whatever their case: patients and staff pick a clinic by name.
    """
    name = name.strip()
    duplicate = db.session.scalar(
        db.select(Clinic.id).where(func.lower(Clinic.name) == name.lower(), Clinic.id != (clinic.id or 0))
    )
    if duplicate:
        raise ClinicError(_("Another clinic has this name."), "name")
    is_new = clinic.id is None
    clinic.name, clinic.city, clinic.address = name, city.strip(), (address or "").strip()
    clinic.phone, clinic.timezone = phone.strip(), timezone
    db.session.add(clinic)
    db.session.flush()
    audit.record("clinic.create" if is_new else "clinic.update", clinic, actor=actor, name=clinic.name)
    return clinic


def footer_clinics() -> list[dict]:
    """Clinics for the footer, cached briefly: they change rarely and show on every page."""
    state = portal_state()
    now = time.monotonic()
    cached = state.footer_clinics
    if cached and now - cached[0] < _TTL_SECONDS:
        return cached[1]
    try:
        rows = db.session.execute(db.select(Clinic.name, Clinic.city, Clinic.phone).order_by(Clinic.city)).all()
    except Exception:  # noqa: BLE001 - the footer must never break an error page
        db.session.rollback()
        return cached[1] if cached else []
    clinics = [{"name": r.name, "city": r.city, "phone": r.phone} for r in rows]
    state.footer_clinics = (now, clinics)
    return clinics


def init_app(app: Flask) -> None:
    """The footer's clinics are read again after any committed write to the clinics, on this server
    (on others within the minute they keep them)."""
    state = portal_state(app)
    forget_on_write(app, Clinic.__tablename__, lambda: setattr(state, "footer_clinics", None))


def add_on_call_contact(clinic: Clinic, *, name: str, email: str, phone: str, actor: User | None = None):
    """Add one of the clinic's on-call contacts (audited; caller commits). The form has checked the phone."""
    contact = OnCallContact(clinic_id=clinic.id, name=name.strip(), email=email.strip().lower(), phone=phone.strip())
    db.session.add(contact)
    db.session.flush()
    audit.record("clinic.on_call_add", clinic, actor=actor, contact=contact.id)
    return contact


def remove_on_call_contact(contact: OnCallContact, actor: User | None = None) -> None:
    """Take a contact off the clinic's on-call list (audited; caller commits)."""
    audit.record("clinic.on_call_remove", contact.clinic, actor=actor, contact=contact.id)
    db.session.delete(contact)
    db.session.flush()
