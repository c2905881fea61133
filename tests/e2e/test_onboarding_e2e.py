"""Browser, at 360 px and 1280 px: a new patient's first sign-in. Consent, "About your back", two activities,
Today with "Your goals"; the coach sees the intake and assigns the suggested program; 14 days later (a frozen
clock) Today offers "Rate your activities" and the chart shows both ratings; an admin publishes a new consent
version and the patient is asked again. At 1280 px the patient is the demo's Tyrone Jackson; at 360 px a new
patient like him. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import expect

from portal.auth.accounts import create_account
from portal.auth.models import Role, email_lookup
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.extensions import db
from portal.timeutil import utcnow
from tests.e2e.axe import AXE_JS, axe_violations
from tests.e2e.conftest import DEMO_PASSWORD, log_in, log_out, submit

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDTHS = {"phone": (360, 740), "desktop": (1280, 900)}
COACH = "coach2@example.com"  # Priya Raman, Tyrone's coach
ADMIN = "admin@example.com"


def shot(page, name: str) -> None:
    """A screenshot of the page, and axe-core's WCAG A/AA check of it (when make test has installed axe-core)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"onboarding-{name}-{page.width_name}.png"), full_page=True)
    if Path(AXE_JS).exists():
        assert axe_violations(page) == [], name


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _patient(live_server, width_name: str) -> tuple[str, int, int]:
    """(email, patient id, clinic id): Tyrone himself at 1280 px, a new patient of his coach and clinic at 360 px."""
    with live_server.app.app_context():
        tyrone = db.session.scalar(email_lookup("patient10@example.com"))
        if width_name == "desktop":
            return tyrone.email, tyrone.id, tyrone.clinic_id
        patient = create_account(
            email="tia.new@example.org",
            name="Tia Newcomer",
            role=Role.PATIENT,
            clinic_id=tyrone.clinic_id,
            coach_id=tyrone.coach_id,
            password=DEMO_PASSWORD,
        )
        db.session.commit()
        return patient.email, patient.id, patient.clinic_id


@pytest.fixture(params=sorted(WIDTHS))
def sized(browser, request):
    """A browser context per viewport width; ``new_page()`` opens a page in a fresh one (a new person)."""
    width, height = WIDTHS[request.param]
    contexts = []

    def new_page():
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.width_name = request.param  # type: ignore[attr-defined]
        return page

    new_page.width_name = request.param  # type: ignore[attr-defined]
    yield new_page
    for context in contexts:
        context.close()


def _tap(page, field: str, value: int) -> None:
    page.locator(f"label[for='{field}-{value}']").click()


def _consent(page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Before we start")
    expect(page.get_by_role("heading", name="Coaching agreement")).to_be_visible()
    expect(page.get_by_role("heading", name="Privacy notice")).to_be_visible()
    submit(page, page.get_by_role("button", name="Continue"))  # nothing ticked: asked again beside each box
    expect(page.get_by_text("Please agree to continue")).to_have_count(2)
    page.get_by_label("I agree to the coaching agreement").check()
    page.get_by_label("I have read the privacy notice").check()
    submit(page, page.get_by_role("button", name="Continue"))


def _intake(page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("About your back")
    expect(page.get_by_text("Step 1 of 5")).to_be_visible()
    shot(page, "intake-step-1")
    assert _fits(page)
    page.locator("#q-where-low_back").check()
    page.locator("#q-since-under_6_weeks").check()
    page.locator("#q-episodes-first").check()
    submit(page, page.get_by_role("button", name="Save and continue"))
    expect(page.get_by_text("Step 2 of 5")).to_be_visible()
    page.locator("#q-worse-sitting").check()
    page.locator("#q-worse-other").fill("Long drives")
    page.locator("#q-better-walking").check()
    # Back, and the answers are still there.
    submit(page, page.get_by_role("button", name="Save and continue"))
    expect(page.get_by_text("Step 3 of 5")).to_be_visible()
    page.get_by_role("link", name="Back").click()
    expect(page.get_by_text("Step 2 of 5")).to_be_visible()
    expect(page.locator("#q-worse-other")).to_have_value("Long drives")
    submit(page, page.get_by_role("button", name="Save and continue"))
    page.locator("#q-posture-sitting").check()
    page.locator("#q-activity-light").check()
    page.locator("#q-sleep-some_nights").check()
    submit(page, page.get_by_role("button", name="Save and continue"))
    expect(page.get_by_text("Step 4 of 5")).to_be_visible()
    for field in RED_FLAG_FIELDS:
        page.locator(f"#q-{field}-no").check()
    _tap(page, "q-peg_pain", 6)
    _tap(page, "q-peg_enjoyment", 5)
    _tap(page, "q-peg_activity", 7)
    shot(page, "intake-step-4")
    assert _fits(page)
    submit(page, page.get_by_role("button", name="Save and continue"))
    expect(page.get_by_text("Step 5 of 5")).to_be_visible()
    page.locator("#new-0-activity").fill("Lifting my grandson")
    _tap(page, "new-0-score", 3)
    page.locator("#new-1-activity").fill("Sitting through church")
    _tap(page, "new-1-score", 5)
    shot(page, "intake-step-5")
    submit(page, page.get_by_role("button", name="Finish"))


def test_a_new_patient_consents_answers_the_intake_and_is_coached_from_it(live_server, sized):
    patient_page = sized()
    width = sized.width_name
    email, patient_id, clinic_id = _patient(live_server, width)

    # 1. First sign-in: consent, then the intake, then Today with the goals.
    log_in(patient_page, live_server, email)
    expect(patient_page).to_have_url(re.compile(r"/me/consent$"))
    shot(patient_page, "consent")
    assert _fits(patient_page)
    _consent(patient_page)
    _intake(patient_page)
    expect(patient_page).to_have_url(re.compile(r"/me/$"))
    goals = patient_page.locator("#your-goals")
    expect(goals.get_by_role("heading", name="Your goals")).to_be_visible()
    expect(goals).to_contain_text("Lifting my grandson")
    expect(goals).to_contain_text("3 of 10")
    expect(patient_page.locator("#intake-card")).to_have_count(0)
    shot(patient_page, "today-goals")
    assert _fits(patient_page)

    # 2. The coach sees the intake and the suggestion, and assigns it.
    coach = sized()
    log_in(coach, live_server, COACH)
    coach.goto(f"{live_server}/coach/patients/{patient_id}")
    intake = coach.locator("#intake")
    expect(intake.get_by_role("heading", name="Intake")).to_be_visible()
    expect(intake).to_contain_text("Low back")
    expect(intake).to_contain_text("Lifting my grandson")
    suggestion = coach.locator("#suggestion")
    expect(suggestion).to_contain_text("Suggested program: Desk worker posture reset")
    expect(suggestion).to_contain_text("pain for less than 6 weeks, low back, mostly sitting")
    shot(coach, "coach-intake")
    assert _fits(coach)
    submit(coach, suggestion.get_by_role("button", name="Assign this program"))
    expect(coach.get_by_text(re.compile(r"now follows “Desk worker posture reset”"))).to_be_visible()
    expect(coach.locator("#suggestion")).to_have_count(0)
    with live_server.app.app_context():
        from portal.care.plans import active_plan

        assert active_plan(patient_id).title == "Desk worker posture reset"
    coach.goto(f"{live_server}/coach/?sort=name")
    expect(coach.locator("[data-intake]").first).to_be_visible()

    # 3. Fourteen days later Today offers "Rate your activities"; the chart shows both ratings.
    with time_machine.travel(utcnow() + timedelta(days=14, hours=1), tick=True):
        later = sized()
        log_in(later, live_server, email)  # the earlier sign-in has long ended
        expect(later).to_have_url(re.compile(r"/me/$"))
        card = later.locator("#rate-card")
        expect(card.get_by_role("heading", name="Rate your activities")).to_be_visible()
        shot(later, "today-rate")
        card.get_by_role("link", name="Rate your activities").click()
        expect(later.get_by_role("heading", level=1)).to_have_text("Rate your activities")
        labels = later.locator("fieldset legend.text-break")
        expect(labels).to_have_count(2)
        ids = [
            re.search(r"goal-(\d+)", name).group(1)
            for name in later.locator("input[type=radio][name^='goal-']").evaluate_all(
                "nodes => [...new Set(nodes.map(n => n.name))]"
            )
        ]
        _tap(later, f"goal-{ids[0]}", 6)
        _tap(later, f"goal-{ids[1]}", 5)
        shot(later, "rate")
        assert _fits(later)
        submit(later, later.get_by_role("button", name="Save ratings"))
        expect(later.locator("#rate-card")).to_have_count(0)
        expect(later.locator("#your-goals")).to_contain_text("6 of 10")
        later.goto(f"{live_server}/me/progress")
        chart = later.locator("canvas[data-series='goals']")
        expect(chart).to_have_attribute("data-drawn", "true")
        later.get_by_text("Show the activity ratings as a table").click()
        table_rows = later.locator("#goals-chart-title ~ details tbody tr")
        expect(table_rows).to_have_count(4)  # two activities, two ratings each
        expect(later.locator("#goals-chart-summary")).to_contain_text("Lifting my grandson: 3 at first, 6 on")
        shot(later, "progress-goals")
        assert _fits(later)
        later.context.close()

    # 4. The admin publishes a new consent version: at the next sign-in the patient is asked again.
    admin = sized()
    log_in(admin, live_server, ADMIN)
    admin.goto(f"{live_server}/admin/consent-texts")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Consent texts")
    admin.goto(f"{live_server}/admin/consent-texts/{clinic_id}")
    admin.get_by_label("Privacy notice (English)").fill(
        "Privacy notice, updated: we now also keep the goals you name and how you rate them."
    )
    shot(admin, "admin-consent")
    submit(admin, admin.get_by_role("button", name="Publish new version"))
    expect(admin.get_by_text(re.compile(r"Version \d+ is published"))).to_be_visible()
    log_out(patient_page)
    log_in(patient_page, live_server, email)
    expect(patient_page).to_have_url(re.compile(r"/me/consent$"))
    expect(patient_page.get_by_text("we now also keep the goals you name")).to_be_visible()
    _consent(patient_page)
    expect(patient_page).to_have_url(re.compile(r"/me/$"))  # the intake is done: straight to Today
