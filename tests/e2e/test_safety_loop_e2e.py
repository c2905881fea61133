"""Browser: the safety loop from the patient's answer to the coach's decision, and the pain-jump alert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.auth.models import email_lookup
from portal.care.models import Alert, AlertKind, CheckIn
from portal.extensions import db
from portal.timeutil import local_today, utcnow
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

LOOP_PATIENT = "patient6@example.com"  # Daniel Kim (coach Priya Raman)
LOOP_NAME = "Daniel Kim"
LOOP_COACH = "coach2@example.com"
JUMP_PATIENT = "patient5@example.com"  # Aisha Okafor (coach Marcus Bell)


def _fill_checkin(page, pain: str) -> None:
    # Pain and stiffness are 0–10 tap scales: tap the number.
    page.get_by_role("radiogroup", name="Pain right now (0–10)").get_by_text(pain, exact=True).click()
    page.get_by_role("radiogroup", name="Stiffness right now (0–10)").get_by_text("3", exact=True).click()
    page.get_by_label("Muscle spasm episodes since yesterday").fill("1")


def _answer_no(page) -> None:
    for radio in page.locator(".red-flag-question input[value=no]").all():
        radio.check()


def _exercise_buttons(page):
    return page.locator("section:has(#group-exercise) button.btn-mark")


def test_red_flag_pauses_exercises_until_the_coach_resumes_them(live_server, mobile_page, browser):
    page = mobile_page  # the patient, on a 360 px phone
    log_in(page, live_server, LOOP_PATIENT)
    page.goto(f"{live_server}/me/checkin")
    _fill_checkin(page, "6")
    # Skipping the safety questions is stopped, with the message beside them; nothing is saved.
    page.get_by_role("button", name="Save check-in").click()
    expect(page.locator("#safety-error")).to_have_text("Answer each safety question")
    with live_server.app.app_context():
        patient = db.session.scalar(email_lookup(LOOP_PATIENT))
        today = local_today(patient.tz)
        assert (
            db.session.scalar(db.select(CheckIn).where(CheckIn.patient_id == patient.id, CheckIn.day == today)) is None
        )
    _fill_checkin(page, "6")
    _answer_no(page)
    page.get_by_role("group", name="A recent fall or injury?").get_by_label("Yes").check()
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_role("alert").filter(has_text="Call your clinic today")).to_be_visible()

    page.goto(f"{live_server}/me/")
    box = page.locator("#red-flag-box")
    expect(box).to_have_attribute("role", "alert")
    expect(box.locator('a[href^="tel:"]').first).to_be_visible()
    expect(box.locator('a[href="tel:911"]')).to_be_visible()
    expect(page.locator("section:has(#group-exercise)")).to_contain_text("Paused until your coach checks in with you")
    expect(_exercise_buttons(page)).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    coach_context = browser.new_context(viewport={"width": 1280, "height": 800})
    coach = coach_context.new_page()
    try:
        log_in(coach, live_server, LOOP_COACH)
        coach.goto(f"{live_server}/coach/")
        first = coach.locator("table.roster tbody tr").first
        expect(first).to_contain_text(LOOP_NAME)
        expect(first.locator('[data-col="reason"]')).to_contain_text("Red flag")
        first.get_by_role("link", name=LOOP_NAME, exact=True).click()
        alert_card = coach.locator('#summary [data-open-alert="red_flag"]')
        expect(alert_card).to_be_in_viewport()  # visible without scrolling at 1280 x 800
        alert_card.locator("summary").click()
        alert_card.get_by_label("What did you do? (note for the record)").fill("Called Daniel; cleared by the doctor.")
        alert_card.get_by_label("Yes, resume them now").check()
        alert_card.get_by_role("button", name="Resolve alert").click()
        expect(coach.get_by_text(f"{LOOP_NAME}'s exercises are available again.")).to_be_visible()
        expect(coach.locator('#summary [data-open-alert="red_flag"]')).to_have_count(0)
    finally:
        coach_context.close()

    page.goto(f"{live_server}/me/")
    expect(page.locator("#red-flag-box")).to_have_count(0)
    expect(page.get_by_text("Paused until your coach checks in with you")).to_have_count(0)
    assert _exercise_buttons(page).count() > 0


def test_coach_summary_comes_before_the_plan_on_a_phone(live_server, mobile_page):
    page = mobile_page
    log_in(page, live_server, "coach@example.com")
    page.goto(f"{live_server}/coach/")
    row = page.locator("table.roster tbody tr").first
    expect(row.locator('[data-col="reason"]')).to_be_visible()
    expect(row.locator('[data-col="alerts"] .badge')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    row.locator("th a").click()
    summary_top = page.locator("#summary").bounding_box()["y"]
    plan_top = page.locator("#plan").bounding_box()["y"]
    assert summary_top < plan_top


def test_a_jump_from_steady_pain_opens_an_alert_at_once(live_server, page):
    with live_server.app.app_context():
        patient = db.session.scalar(email_lookup(JUMP_PATIENT))
        today = local_today(patient.tz)
        db.session.execute(
            db.delete(CheckIn).where(CheckIn.patient_id == patient.id, CheckIn.day >= today - timedelta(days=7))
        )
        db.session.execute(
            db.update(Alert)
            .where(Alert.patient_id == patient.id, Alert.resolved_at.is_(None))
            .values(resolved_at=utcnow(), open_key=None, note="reset for the test")
        )
        for offset, pain in ((4, 3), (3, 4), (2, 3), (1, 4)):
            db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=offset), pain=pain, stiffness=3))
        db.session.commit()
        patient_id = patient.id
    log_in(page, live_server, JUMP_PATIENT)
    page.goto(f"{live_server}/me/checkin")
    _fill_checkin(page, "8")
    _answer_no(page)
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_text("Check-in saved.")).to_be_visible()
    with live_server.app.app_context():
        alert = db.session.scalar(
            db.select(Alert).where(
                Alert.patient_id == patient_id, Alert.kind == AlertKind.PAIN_WORSENING, Alert.open_key == 1
            )
        )
        assert alert is not None and alert.summary == "pain 8, up from an average of 3.5"
