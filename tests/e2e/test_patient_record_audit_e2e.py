"""Browser, 360 px and 1280 px: a coach opening a patient's page is one "Viewed patient record" entry.

The page's charts draw from the data the page carries, so the browser asks for nothing more
about the patient, and the audit log holds one entry per view.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.audit import AuditEvent
from portal.auth.models import email_lookup
from portal.extensions import db
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

COACH = "coach@example.com"  # Marcus Bell, Maria Gonzalez's coach in the demo
PATIENT = "patient@example.com"


def _views(live_server, patient_id: int) -> int:
    with live_server.app.app_context():
        return db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).where(
                AuditEvent.action == "patient.view", AuditEvent.patient_id == patient_id
            )
        )


@pytest.mark.parametrize("width", [360, 1280])
def test_one_view_of_a_patient_page_is_one_audit_entry(live_server, browser, width):
    with live_server.app.app_context():
        patient_id = db.session.scalar(email_lookup(PATIENT)).id
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        log_in(page, live_server, COACH)
        before = _views(live_server, patient_id)
        asked.clear()
        page.goto(f"{live_server}/coach/patients/{patient_id}")
        expect(page.locator('canvas[data-series="pain"][data-drawn="true"]')).to_have_count(1)
        expect(page.locator('canvas[data-series="adherence"][data-drawn="true"]')).to_have_count(1)
        page.wait_for_load_state("networkidle")
        assert not [url for url in asked if "/progress/data.json" in url], asked
        assert _views(live_server, patient_id) == before + 1
        assert errors == []
    finally:
        context.close()
