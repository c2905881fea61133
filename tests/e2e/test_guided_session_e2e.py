"""Browser, 360 px: the guided session with and without JavaScript, and Today's per-session count."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from portal.auth.models import User
from portal.extensions import db
from tests.e2e.conftest import ARTIFACTS, log_in, new_consented_patient
from tests.plan_factories import make_item, make_plan

pytestmark = pytest.mark.e2e

_n = itertools.count(1)


def _patient_with_two_movements(live_server) -> str:
    """A new patient (demo clinic and coach) whose first movement is done three times a day."""
    email = f"session{next(_n)}@example.org"
    with live_server.app.app_context():
        patient = new_consented_patient("Rosa Session", email)
        plan = make_plan(patient, items=[make_item(title="Pelvic tilt"), make_item(title="Cat cow")])
        first, second = plan.items
        first.times_per_day, first.hold_seconds, first.sets, first.reps = 3, 2, 1, 3
        second.times_per_day = 1
        db.session.commit()
        assert isinstance(patient, User)
    return email


def test_guided_session_with_javascript(live_server, mobile_page):
    page = mobile_page
    log_in(page, live_server, _patient_with_two_movements(live_server))
    # Today opens with what to do next: the check-in, then the session.
    expect(page.get_by_role("link", name="Check in for today")).to_be_visible()
    page.get_by_role("link", name="Start today's session").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pelvic tilt")
    expect(page.get_by_text("Movement 1 of 2")).to_be_visible()
    page.get_by_text("Stop if…").click()
    expect(page.get_by_text("Stop if pain shoots down a leg.")).to_be_visible()
    page.evaluate("window.sameDocument = true")  # gone if a step reloads the page
    expect(page.locator("[data-countdown]")).to_have_text("0:02")
    page.get_by_role("button", name="Start timer").click()
    expect(page.locator("[data-countdown]")).to_have_text("0:00", timeout=5_000)
    expect(page.get_by_role("status").filter(has_text="Time is up.")).to_have_count(1)
    expect(page.get_by_role("button", name="Start timer")).to_be_visible()  # ready for the next hold
    page.get_by_role("button", name="Count a rep").click()
    expect(page.locator("[data-count-text]")).to_have_text("Rep 1, set 1")
    page.get_by_role("button", name="Done", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cat cow")
    page.get_by_role("link", name="Skip", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Session finished")
    assert page.evaluate("window.sameDocument === true")
    assert page.url.endswith("/me/today/session/3")
    expect(page.get_by_role("link", name="Check in for today")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.get_by_role("link", name="Back to Today").click()
    card = page.locator("li.card-item", has_text="Pelvic tilt")
    expect(card.get_by_text("1 of 3 today")).to_be_visible()
    # Marking on Today is the same action, done in place and announced next to the cards.
    # The cards show before today.js has run: a tap before it would be the plain form post.
    page.wait_for_load_state("load")
    page.evaluate("window.sameDocument = true")
    card.get_by_role("button", name="Mark Pelvic tilt done").click()
    expect(page.locator("#today-announce")).to_have_text("Marked “Pelvic tilt” done. Well done!")
    expect(page.locator("li.card-item", has_text="Pelvic tilt").get_by_text("2 of 3 today")).to_be_visible()
    assert page.evaluate("window.sameDocument === true")
    assert page.console_errors == []


def test_guided_session_without_javascript(live_server, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, live_server, _patient_with_two_movements(live_server))
        page.get_by_role("link", name="Start today's session").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Pelvic tilt")
        expect(page.get_by_role("button", name="Start timer")).to_be_hidden()  # the timer needs JavaScript
        page.get_by_role("button", name="Done", exact=True).click()
        expect(page).to_have_url(re.compile(r"/me/today/session/2$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Cat cow")
        page.get_by_role("link", name="Skip", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Session finished")
        page.get_by_role("link", name="Back to Today").click()
        expect(page.locator("li.card-item", has_text="Pelvic tilt").get_by_text("1 of 3 today")).to_be_visible()
        expect(page.locator("li.card-item", has_text="Cat cow").get_by_text("Done", exact=True)).to_have_count(0)
    finally:
        context.close()


def _patient_with_a_round_to_do(live_server) -> str:
    """A new patient whose two movements are due three times a day and whose habit is due once."""
    email = f"round{next(_n)}@example.org"
    with live_server.app.app_context():
        patient = new_consented_patient("Rosa Rounds", email)
        plan = make_plan(
            patient,
            items=[
                make_item(title="Knee hug"),
                make_item(title="Bird dog"),
                make_item(kind="posture", title="Sit tall"),
            ],
        )
        hug, dog, habit = plan.items
        hug.times_per_day, hug.hold_seconds, hug.sets, hug.reps = 3, 45, None, None
        dog.times_per_day = 3
        habit.times_per_day = 1
        db.session.commit()
    return email


@pytest.mark.parametrize("width", [360, 1280])
def test_one_round_of_movements_due_three_times_a_day(live_server, browser, width, request):
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        log_in(page, live_server, _patient_with_a_round_to_do(live_server))
        progress = page.locator("#today-progress")
        expect(progress).to_have_text("0 of 7 sessions done today")
        assert page.locator("progress.today-progress").evaluate("bar => [bar.value, bar.max]") == [0, 7]
        page.get_by_role("link", name="Start today's session").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Knee hug")
        # The hold timer: minutes and seconds, and one button that starts, pauses and resumes.
        countdown = page.locator("[data-countdown]")
        expect(countdown).to_have_text("0:45")
        page.get_by_role("button", name="Start timer").click()
        expect(page.get_by_role("button", name="Pause timer")).to_be_visible()
        expect(countdown).to_have_text("0:44", timeout=3_000)
        page.get_by_role("button", name="Pause timer").click()
        expect(page.get_by_role("button", name="Resume timer")).to_be_visible()
        held = countdown.inner_text()
        page.wait_for_timeout(1_500)
        expect(countdown).to_have_text(held)  # paused: the time stands still
        page.get_by_role("button", name="Resume timer").click()
        expect(page.get_by_role("button", name="Pause timer")).to_be_visible()
        if width == 360:
            page.screenshot(path=str(ARTIFACTS / f"session-timer-{width}.png"), full_page=True)
        page.get_by_role("button", name="Done", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Bird dog")
        page.get_by_role("button", name="Done", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Round 1 of 3 done")
        expect(page.get_by_text("2 of 6 sessions done today")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.screenshot(path=str(ARTIFACTS / f"session-round-{width}.png"), full_page=True)
        page.get_by_role("link", name="Back to Today").click()
        # Today's bar moved with the round: one session of each movement.
        expect(progress).to_have_text("2 of 7 sessions done today")
        assert page.locator("progress.today-progress").evaluate("bar => [bar.value, bar.max]") == [2, 7]
        expect(page.locator("li.card-item", has_text="Knee hug").get_by_text("1 of 3 today")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / f"today-sessions-{width}.png"), full_page=True)
        # A tap on Today moves the bar at once, without a reload.
        page.wait_for_load_state("load")
        page.locator("li.card-item", has_text="Sit tall").get_by_role("button", name="Mark Sit tall done").click()
        expect(progress).to_have_text("3 of 7 sessions done today")
        assert page.locator("progress.today-progress").evaluate("bar => bar.value") == 3
        assert errors == []
    finally:
        context.close()
