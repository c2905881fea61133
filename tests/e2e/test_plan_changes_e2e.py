"""Browser, 360 px and 1280 px: after the coach changes a dose, the patient's Today says what changed."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.timeutil import local_today
from tests.e2e.conftest import ARTIFACTS, log_in, new_consented_patient, submit
from tests.plan_factories import make_item, make_plan

pytestmark = pytest.mark.e2e

COACH = "coach@example.com"
_n = itertools.count(1)


def _patient_with_a_bridge(live_server) -> tuple[str, int, int, int]:
    """A new patient of the demo coach whose plan has a glute bridge, 1 set of 8 reps once a day."""
    email = f"changes{next(_n)}@example.org"
    with live_server.app.app_context():
        patient = new_consented_patient(f"Cora Changes {next(_n)}", email, COACH)
        coach = patient.coach
        start = local_today(patient.tz) - timedelta(days=10)
        plan = make_plan(patient, coach, [make_item(title=f"Glute bridge {email}")], start_date=start)
        item = plan.items[0]
        item.sets, item.reps, item.hold_seconds, item.times_per_day = 1, 8, None, 1
        db.session.commit()
        return email, patient.id, plan.id, item.id


@pytest.mark.parametrize("width", [360, 1280])
def test_the_patient_sees_what_changed_after_a_dose_change(live_server, page, browser, width):
    email, patient_id, plan_id, item_id = _patient_with_a_bridge(live_server)
    title = f"Glute bridge {email}"

    phone = browser.new_context(viewport={"width": width, "height": 800})
    patient = phone.new_page()
    errors: list[str] = []
    patient.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        log_in(patient, live_server, email)
        expect(patient.get_by_role("heading", name="What changed in your plan")).to_have_count(0)

        # The coach (at 1280 px) doses the bridge up to 2 sets, with a note.
        log_in(page, live_server, COACH)
        page.goto(f"{live_server}/coach/patients/{patient_id}")
        page.locator(f"#plan-item-{item_id}").get_by_role("link", name=f"Edit {title}").click()
        page.get_by_label("Sets", exact=True).fill("2")
        page.get_by_label("Note for the patient").fill("Squeeze at the top for a second.")
        submit(page, page.get_by_role("button", name="Save item"))
        expect(page.get_by_text(f"“{title}” saved.")).to_be_visible()

        patient.goto(f"{live_server}/me/")
        box = patient.locator("#plan-changes")
        expect(box.get_by_role("heading", name="What changed in your plan")).to_be_visible()
        expect(box.locator("li")).to_have_count(1)
        expect(box.locator("li")).to_contain_text(f"Now 2 sets instead of 1: {title}")
        expect(box.locator("li")).to_contain_text("From your coach: Squeeze at the top for a second.")
        assert patient.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        patient.screenshot(path=str(ARTIFACTS / f"today-plan-changes-{width}.png"), full_page=True)
        # Still there on the next visit, until dismissed.
        patient.reload()
        expect(box).to_be_visible()
        submit(patient, box.get_by_role("button", name="Dismiss"))
        expect(patient.get_by_role("heading", level=1)).to_have_text("Today")
        expect(patient.locator("#plan-changes")).to_have_count(0)
        patient.reload()
        expect(patient.locator("#plan-changes")).to_have_count(0)
        assert errors == [] and not page.console_errors
    finally:
        phone.close()
