"""Browser: a coach pauses one plan item with a reason, the patient sees it paused, the coach resumes it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.auth.models import email_lookup
from portal.care.models import PlanItem
from portal.extensions import db
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

PATIENT = "patient9@example.com"  # Fatima Haddad (coach Priya Raman); the test leaves her plan as it was
PATIENT_NAME = "Fatima Haddad"
COACH = "coach2@example.com"
REASON = "Give your knee a week before the step-ups"


def _count_line(page) -> tuple[int, int]:
    done, total = re.match(
        r"(\d+) of (\d+) sessions? done today", page.locator("#today-progress").inner_text()
    ).groups()
    return int(done), int(total)


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_coach_pauses_an_item_with_a_reason_and_resumes_it(live_server, mobile_page, browser):
    phone = mobile_page  # the patient, at 360 px
    log_in(phone, live_server, PATIENT)
    phone.goto(f"{live_server}/me/")
    card = phone.locator("li.card-item:has(button.btn-mark)").first
    card_id = card.get_attribute("id")
    item_id = int(card_id.removeprefix("item-"))
    _done, total = _count_line(phone)

    with live_server.app.app_context():
        patient_id = db.session.scalar(email_lookup(PATIENT)).id
        times = db.session.get(PlanItem, item_id).times_per_day  # the sessions it adds to the day
    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    coach = desk.new_page()
    coach_errors: list[str] = []
    coach.on("console", lambda msg: coach_errors.append(msg.text) if msg.type == "error" else None)
    try:
        log_in(coach, live_server, COACH)
        coach.goto(f"{live_server}/coach/patients/{patient_id}")
        item = coach.locator(f"#plan-item-{item_id}")
        # "Pause" asks for the reason first: a required, one-line field.
        item.locator("summary", has_text="Pause").click()
        reason = item.get_by_label("Reason (shown to the patient)")
        expect(reason).to_be_visible()
        expect(reason).to_have_attribute("maxlength", "200")
        item.get_by_role("button", name=re.compile(r"^Pause item")).click()  # no reason yet: not sent
        assert reason.evaluate("field => field.validity.valueMissing")
        expect(item.locator("[data-item-paused]")).to_have_count(0)
        reason.fill(REASON)
        item.get_by_role("button", name=re.compile(r"^Pause item")).click()
        expect(coach.get_by_text("sees your reason on their plan")).to_be_visible()
        item = coach.locator(f"#plan-item-{item_id}")
        expect(item.locator("[data-item-paused]")).to_contain_text(REASON)
        expect(item.locator("[data-item-paused]")).to_contain_text("Paused since")
        expect(item.get_by_role("button", name=re.compile(r"^Resume"))).to_be_visible()
        expect(item.locator("summary", has_text="Pause")).to_have_count(0)

        # The patient sees it paused with the coach's reason, without its button, out of the count.
        phone.goto(f"{live_server}/me/")
        card = phone.locator(f"#{card_id}")
        expect(card).to_contain_text(f"Paused by your coach: {REASON}")
        expect(card.locator("button.btn-mark")).to_have_count(0)
        assert _count_line(phone)[1] == total - times
        assert _fits(phone)
        phone.goto(f"{live_server}/me/plan")
        expect(phone.locator(f"#plan-item-{item_id}")).to_contain_text(f"Paused by your coach: {REASON}")
        assert _fits(phone)

        # The coach resumes it.
        item.get_by_role("button", name=re.compile(r"^Resume")).click()
        expect(coach.get_by_text(f"is back on {PATIENT_NAME}'s plan.")).to_be_visible()
        expect(coach.locator(f"#plan-item-{item_id} [data-item-paused]")).to_have_count(0)
        assert not coach_errors
    finally:
        desk.close()

    phone.goto(f"{live_server}/me/")
    card = phone.locator(f"#{card_id}")
    expect(card.locator("button.btn-mark")).to_have_count(1)
    expect(card).not_to_contain_text("Paused by your coach")
    assert _count_line(phone)[1] == total
    assert not phone.console_errors
