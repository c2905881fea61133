"""Clinic lookups shared by pages (footer, safety messages)."""

from __future__ import annotations

import time

from portal.auth.models import Clinic
from portal.extensions import db

_CACHE: dict[str, tuple[float, list[dict]]] = {}
_TTL_SECONDS = 60.0


def footer_clinics() -> list[dict]:
    """Clinics for the footer, cached briefly: they change rarely and show on every page."""
    now = time.monotonic()
    cached = _CACHE.get("footer")
    if cached and now - cached[0] < _TTL_SECONDS:
        return cached[1]
    try:
        rows = db.session.execute(db.select(Clinic.name, Clinic.city, Clinic.phone).order_by(Clinic.city)).all()
    except Exception:  # noqa: BLE001 - the footer must never break an error page
        db.session.rollback()
        return cached[1] if cached else []
    clinics = [{"name": r.name, "city": r.city, "phone": r.phone} for r in rows]
    _CACHE["footer"] = (now, clinics)
    return clinics


def clear_cache() -> None:
    _CACHE.clear()
