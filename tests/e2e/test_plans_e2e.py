"""Plans in a real browser: a coach assigns and personalizes a plan; the patient follows it on Today."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.auth.models import email_lookup
from portal.care.alerts import resolve_alert
from portal.care.consent import consent_state
from portal.care.models import Alert, Plan, PlanStatus
from portal.extensions import db
from tests.conftest import give_test_consent
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _patient_id(live_server, email: str) -> int:
    with live_server.app.app_context():
        return db.session.scalar(email_lookup(email)).id


def test_coach_assigns_and_personalizes_then_patient_marks_done(page, browser, live_server):
    # The coach assigns a starter program to Robert Thompson and changes one item's dose.
    log_in(page, live_server, "coach@example.com")
    page.get_by_role("link", name="Robert Thompson", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Robert Thompson")
    page.get_by_label("Program", exact=True).select_option(label="Core stability builder (starter)")
    page.get_by_label("Goals", exact=True).fill("Carry groceries without a flare.")
    page.get_by_role("button", name="Assign plan").click()
    # Robert already follows a plan: the portal asks before replacing it.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Replace Robert Thompson's current plan")
    page.get_by_role("button", name="Yes, replace the plan").click()
    expect(page.get_by_text("Robert Thompson now follows “Core stability builder”")).to_be_visible()

    first = page.locator(".plan-items > li").first
    title = first.locator("h4").inner_text().strip()
    first.get_by_role("link", name=f"Edit {title}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Edit {title}")
    page.get_by_label("Sets", exact=True).fill("3")
    page.get_by_label("Repetitions", exact=True).fill("15")
    page.get_by_label("Hold (seconds)").fill("")
    page.get_by_label("Times a day").fill("2")
    for day in WEEKDAYS:  # due every day, so it is on Today whatever day the test runs
        page.get_by_label(day).check()
    page.get_by_label("Note for the patient").fill("Breathe out as you lift.")
    page.get_by_role("button", name="Save item").click()
    expect(page.get_by_text(f"“{title}” saved.")).to_be_visible()
    expect(page.locator(".plan-items > li").first).to_contain_text("3 sets of 15 reps · twice a day · Every day")
    assert not page.console_errors

    # Robert's demo story has an open red flag, which pauses his exercises: his coach has since
    # checked in with him (resolved, exercises resumed), so Today offers the buttons again.
    with live_server.app.app_context():
        robert = db.session.scalar(email_lookup("patient4@example.com"))
        coach = db.session.scalar(email_lookup("coach@example.com"))
        for alert in db.session.scalars(
            db.select(Alert).where(Alert.patient_id == robert.id, Alert.resolved_at.is_(None))
        ):
            resolve_alert(alert, coach, "Called Robert; seen at the clinic.", resume=True)
        # Another browser test may have published a new consent version for his clinic: he agreed to it.
        if not consent_state(robert).given:
            give_test_consent(robert)
        db.session.commit()

    # The patient (on a phone) sees the new dose on Today, marks it done, and it stays done.
    context = browser.new_context(viewport={"width": 360, "height": 740})
    phone = context.new_page()
    log_in(phone, live_server, "patient4@example.com")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Today")
    card = phone.locator("li.card", has=phone.get_by_role("heading", name=title))
    expect(card).to_contain_text("3 sets of 15 reps · twice a day")
    expect(card).to_contain_text("Breathe out as you lift.")
    progress = phone.locator("#today-progress")
    expect(progress).to_have_text(re.compile(r"^\d+ of \d+ sessions done today$"))
    before, total = (int(n) for n in re.findall(r"\d+", progress.inner_text()))
    # Twice a day: each tap logs one session of two (the count moves each time), the second
    # finishes the item for today.
    phone.get_by_role("button", name=f"Mark {title} done").click()
    expect(card).to_contain_text("1 of 2 today")
    expect(progress).to_have_text(f"{before + 1} of {total} sessions done today")
    phone.get_by_role("button", name=f"Mark {title} done").click()
    expect(progress).to_have_text(f"{before + 2} of {total} sessions done today")
    expect(phone.get_by_role("button", name=f"Mark {title} not done")).to_be_visible()
    phone.reload()
    expect(phone.get_by_role("button", name=f"Mark {title} not done")).to_be_visible()
    expect(progress).to_have_text(f"{before + 2} of {total} sessions done today")
    # Nothing on Today is wider than the phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360

    # My plan shows the goals and the coach.
    phone.goto(f"{live_server}/me/plan")
    expect(phone.get_by_text("Carry groceries without a flare.")).to_be_visible()
    expect(phone.get_by_text("Marcus Bell")).to_be_visible()
    context.close()


def test_patient_cannot_open_or_change_another_patients_plan(page, live_server):
    other_id = _patient_id(live_server, "patient6@example.com")
    with live_server.app.app_context():
        other_plan = db.session.scalar(
            db.select(Plan).where(Plan.patient_id == other_id, Plan.status == PlanStatus.ACTIVE)
        )
        other_item_id = other_plan.items[0].id
    log_in(page, live_server, "patient5@example.com")
    response = page.goto(f"{live_server}/coach/patients/{other_id}")
    assert response.status == 403
    page.goto(f"{live_server}/me/")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(f"{live_server}/me/today/items/{other_item_id}", form={"csrf_token": token, "done": "1"})
    assert answer.status == 404


def test_every_demo_patient_has_a_plan_on_first_login(page, live_server):
    log_in(page, live_server, "patient9@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    expect(page.get_by_text("Your plan is on its way")).to_have_count(0)
    page.get_by_role("link", name="My plan").click()
    expect(page.get_by_role("heading", name="Your week")).to_be_visible()


def test_coach_browses_library_and_programs(page, live_server):
    log_in(page, live_server, "coach2@example.com")
    page.get_by_role("link", name="Library").click()
    page.get_by_label("Search").fill("water")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".library-list li").first).to_be_visible()
    page.locator(".library-list a").first.click()
    expect(page.get_by_role("heading", name="How to do it")).to_be_visible()
    page.get_by_role("link", name="Programs").click()
    page.get_by_role("link", name="Desk worker posture reset").click()
    page.get_by_role("button", name="Duplicate program").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Copy of Desk worker posture reset")
    expect(page.get_by_role("link", name="Edit name and purpose")).to_be_visible()


@pytest.mark.parametrize(
    ("email", "name", "width"),
    [("patient3@example.com", "Linh Nguyen", 1280), ("patient5@example.com", "Aisha Okafor", 360)],
)
def test_replacing_a_plan_asks_first(browser, live_server, email, name, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    log_in(page, live_server, "coach@example.com")
    patient_id = _patient_id(live_server, email)
    with live_server.app.app_context():
        current = db.session.scalar(
            db.select(Plan).where(Plan.patient_id == patient_id, Plan.status == PlanStatus.ACTIVE)
        )
        current_title = current.title
    page.goto(f"{live_server}/coach/patients/{patient_id}")
    page.get_by_label("Program", exact=True).select_option(label="Desk worker posture reset (starter)")
    page.get_by_role("button", name="Assign plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Replace {name}'s current plan, {current_title}?")
    expect(page.get_by_text("The current plan goes to the history")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Keeping the plan changes nothing.
    page.get_by_role("link", name="Keep the current plan").click()
    with live_server.app.app_context():
        assert (
            db.session.scalar(
                db.select(Plan.title).where(Plan.patient_id == patient_id, Plan.status == PlanStatus.ACTIVE)
            )
            == current_title
        )
    page.get_by_label("Program", exact=True).select_option(label="Desk worker posture reset (starter)")
    page.get_by_role("button", name="Assign plan").click()
    page.get_by_role("button", name="Yes, replace the plan").click()
    expect(page.get_by_text(f"{name} now follows “Desk worker posture reset”")).to_be_visible()
    history = page.locator("#plan-history")
    expect(history).to_contain_text(current_title)
    assert not page.console_errors if hasattr(page, "console_errors") else True
    context.close()
