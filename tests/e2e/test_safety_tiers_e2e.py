"""Browser, at 360 px and 1280 px: each red-flag tier shows its own advice first, on the check-in as the patient
answers and after saving, and on Today while the alert is open. Screenshots go to test-artifacts/."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.auth.models import email_lookup
from portal.extensions import db
from tests.e2e.conftest import log_in, new_consented_patient

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDTHS = {"phone": (360, 740), "desktop": (1280, 900)}
_n = itertools.count(1)


def new_patient(live_server, coach_email: str = "coach@example.com") -> tuple[str, str]:
    """A new patient of a demo coach and clinic: (email, the clinic's phone)."""
    email = f"tiers{next(_n)}@example.org"
    with live_server.app.app_context():
        patient = new_consented_patient(f"Tess Tier {next(_n)}", email, coach_email)
        phone = patient.clinic.phone
    return email, phone


def tel(phone: str) -> str:
    return "tel:" + "".join(ch for ch in phone if ch.isdigit())


@pytest.fixture(params=sorted(WIDTHS))
def sized_page(browser, request):
    width, height = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.width_name = request.param  # type: ignore[attr-defined]
    yield page
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{page.width_name}.png"), full_page=True)


def fill_calm_checkin(page) -> None:
    page.get_by_role("radiogroup", name="Pain right now (0–10)").get_by_text("5", exact=True).click()
    page.get_by_role("radiogroup", name="Stiffness right now (0–10)").get_by_text("4", exact=True).click()
    page.get_by_label("Muscle spasm episodes since yesterday").fill("1")
    for radio in page.locator(".red-flag-question input[value=no]").all():
        radio.check()


def test_emergency_answer_shows_the_911_box_first_with_911_first(live_server, sized_page):
    page = sized_page
    email, phone = new_patient(live_server)
    log_in(page, live_server, email)
    page.goto(f"{live_server}/me/checkin")
    fill_calm_checkin(page)
    page.get_by_role("group", name="Trouble walking or standing?").get_by_label("Yes").check()
    page.get_by_role("group", name="Sudden weakness in a leg or foot, or a leg giving way?").get_by_label("Yes").check()
    # Before saving: the highest tier's advice, beside the questions, with 911 as its first action.
    hint = page.locator("#red-flag-hint-emergency")
    expect(hint).to_be_visible()
    expect(page.locator("#red-flag-hint-today")).to_be_hidden()
    expect(hint.get_by_role("heading")).to_have_text("Call 911 or go to the nearest emergency room now")
    expect(hint.locator("a[href^='tel:']").first).to_have_attribute("href", "tel:911")
    page.get_by_role("button", name="Save check-in").click()

    box = page.locator("#safety")
    expect(box).to_have_count(1)
    expect(box).to_have_attribute("role", "alert")
    expect(box.get_by_role("heading")).to_have_text("Call 911 or go to the nearest emergency room now")
    links = box.locator("a[href^='tel:']")
    expect(links.first).to_have_attribute("href", "tel:911")
    expect(links.nth(1)).to_have_attribute("href", tel(phone))
    # First on the page after the heading, full width, and the 911 button is the largest action in it.
    order = page.evaluate(
        """() => {
            const main = document.querySelector('main');
            const box = main.querySelector("#safety");
            const form = main.querySelector('form[action$="/me/checkin"]');
            const call = box.querySelector('a[href="tel:911"]');
            const clinic = box.querySelectorAll('a[href^="tel:"]')[1];
            return {
                boxBeforeForm: !!(box.compareDocumentPosition(form) & Node.DOCUMENT_POSITION_FOLLOWING),
                boxWidth: box.getBoundingClientRect().width,
                mainWidth: main.getBoundingClientRect().width,
                callHeight: call.getBoundingClientRect().height,
                clinicHeight: clinic.getBoundingClientRect().height,
                callTop: call.getBoundingClientRect().top,
                clinicTop: clinic.getBoundingClientRect().top,
            };
        }"""
    )
    assert order["boxBeforeForm"]
    assert order["boxWidth"] >= order["mainWidth"] - 40  # the content's whole width (less its padding)
    assert order["callHeight"] > order["clinicHeight"] and order["callTop"] < order["clinicTop"]
    expect(box.locator('a[href="tel:911"]')).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    expect(page.get_by_text("Please save your check-in")).to_have_count(0)
    expect(page.locator("#red-flag-hint")).to_be_hidden()  # no second copy telling the patient to save
    shot(page, "emergency-checkin")

    page.goto(f"{live_server}/me/")
    today_box = page.locator("#red-flag-box")
    expect(today_box).to_have_attribute("role", "alert")
    expect(today_box.get_by_role("heading")).to_have_text("Call 911 or go to the nearest emergency room now")
    expect(today_box.locator("a[href^='tel:']").first).to_have_attribute("href", "tel:911")
    shot(page, "emergency-today")


def test_today_tier_answer_shows_the_clinic_first(live_server, sized_page):
    page = sized_page
    email, phone = new_patient(live_server)
    log_in(page, live_server, email)
    page.goto(f"{live_server}/me/checkin")
    fill_calm_checkin(page)
    page.get_by_role("group", name="Pain that stops you from doing your daily activities?").get_by_label("Yes").check()
    expect(page.locator("#red-flag-hint-soon")).to_be_visible()  # Soon, until a higher tier is answered
    fever = page.get_by_role("group", name="Fever, chills or feeling unwell along with your back pain?")
    fever.get_by_label("Yes").check()
    expect(page.locator("#red-flag-hint-soon")).to_be_hidden()
    hint = page.locator("#red-flag-hint-today")
    expect(hint).to_be_visible()
    expect(hint.locator("a[href^='tel:']").first).to_have_attribute("href", tel(phone))
    page.get_by_role("button", name="Save check-in").click()

    box = page.locator("#safety")
    expect(box).to_have_count(1)
    expect(box.get_by_role("heading")).to_have_text("Call your clinic today")
    expect(box.locator("a[href^='tel:']").first).to_have_attribute("href", tel(phone))
    expect(box.locator("a[href^='tel:']").nth(1)).to_have_attribute("href", "tel:911")
    expect(box).to_contain_text("If you cannot reach the clinic, go to urgent care or call 911 if it gets worse")
    expect(page.locator("#red-flag-hint")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "today-tier-checkin")


def test_coach_acknowledges_then_resolves_with_resume_and_the_patient_is_told(live_server, browser, sized_page):
    page = sized_page
    email, _phone = new_patient(live_server)
    with live_server.app.app_context():
        name = db.session.scalar(email_lookup(email)).name
    log_in(page, live_server, email)
    page.goto(f"{live_server}/me/checkin")
    fill_calm_checkin(page)
    page.get_by_role("group", name="A recent fall or injury?").get_by_label("Yes").check()
    page.get_by_role("button", name="Save check-in").click()
    expect(page.locator("#safety")).to_be_visible()

    width, height = WIDTHS[page.width_name]
    coach_context = browser.new_context(viewport={"width": width, "height": height})
    coach_context.set_default_timeout(10_000)
    coach = coach_context.new_page()
    coach.width_name = page.width_name  # type: ignore[attr-defined]
    try:
        log_in(coach, live_server, "coach@example.com")
        coach.goto(f"{live_server}/coach/alerts")
        card = coach.locator("article.alert-card").filter(has_text=name)
        expect(card).to_contain_text("Urgent · Red flag")
        expect(card).to_contain_text("I have seen this and I am contacting the patient")
        card.get_by_role("button", name="Acknowledge").click()
        expect(coach.get_by_text(f"You acknowledged the alert for {name}. Contact them now.")).to_be_visible()
        card = coach.locator("article.alert-card").filter(has_text=name)
        expect(card).to_contain_text("Acknowledged by Marcus Bell")
        assert coach.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        shot(coach, "coach-acknowledged")

        page.goto(f"{live_server}/me/")
        expect(page.locator("#red-flag-box")).to_be_visible()  # still open: the advice stays
        expect(page.locator("#red-flag-acknowledged")).to_have_text(
            "Your coach Marcus Bell has seen your report and will contact you."
        )
        shot(page, "patient-acknowledged")

        note = "We spoke; the doctor says the stretches are safe again."
        card.get_by_label("What did you do? (note for the record)").fill(note)
        card.get_by_label("Yes, resume them now").check()
        card.get_by_role("button", name="Resolve alert").click()
        expect(coach.get_by_text(f"Alert for {name} resolved.")).to_be_visible()
    finally:
        coach_context.close()

    page.goto(f"{live_server}/me/")
    expect(page.locator("#red-flag-box")).to_have_count(0)
    notice = page.locator("#exercises-resumed")
    expect(notice).to_contain_text("Your coach resumed your exercises on ")
    expect(notice).to_contain_text(note)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "patient-resumed")
    notice.get_by_role("button", name="Dismiss").click()
    expect(page.locator("#exercises-resumed")).to_have_count(0)
    page.goto(f"{live_server}/messages/")
    expect(page.get_by_text(note)).to_be_visible()
