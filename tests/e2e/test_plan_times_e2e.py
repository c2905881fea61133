"""Browser, 360 px and 1280 px: "When I do my plan" on the account page sets the calendar file's times."""

from __future__ import annotations

import itertools
from datetime import time, timedelta

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from portal.extensions import db
from portal.timeutil import local_today
from tests.e2e.conftest import ARTIFACTS, log_in, new_consented_patient, submit
from tests.plan_factories import make_item, make_plan

pytestmark = pytest.mark.e2e

_n = itertools.count(1)


def _patient(live_server) -> str:
    email = f"times{next(_n)}@example.org"
    with live_server.app.app_context():
        patient = new_consented_patient("Tomas Times", email)
        coach = patient.coach
        start = local_today(patient.tz) - timedelta(days=3)
        plan = make_plan(patient, coach, [make_item(title="Bird dog"), make_item(title="Knee hug")], start_date=start)
        plan.items[0].times_per_day, plan.items[1].times_per_day = 3, 1
        db.session.commit()
    return email


@pytest.mark.parametrize("width", [360, 1280])
def test_the_patient_chooses_when_they_do_their_plan(live_server, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        log_in(page, live_server, _patient(live_server))
        page.goto(f"{live_server}/account")
        section = page.locator("#plan-times")
        expect(section.get_by_role("heading", name="When I do my plan")).to_be_visible()
        expect(section.get_by_label("First time")).to_have_value("08:00")
        expect(section.get_by_label("Second time")).to_have_value("13:00")
        expect(section.get_by_label("Third time")).to_have_value("19:00")
        # The same time twice is refused beside the field, nothing saved.
        section.get_by_label("Second time").fill("08:00")
        submit(page, section.get_by_role("button", name="Save my times"))
        expect(page.locator("#times-second_time-error")).to_have_text("Choose a different time from the ones above.")
        errors.clear()  # the browser logs that refused post's 400
        section = page.locator("#plan-times")
        section.get_by_label("First time").fill("07:30")
        section.get_by_label("Second time").fill("12:15")
        section.get_by_label("Third time").fill("")
        section.get_by_label("Remind me at these times").check()
        submit(page, section.get_by_role("button", name="Save my times"))
        expect(page.get_by_text("Your times are saved.")).to_be_visible()
        expect(page.locator("#plan-times").get_by_label("Third time")).to_have_value("")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.locator("#plan-times").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"account-plan-times-{width}.png"), full_page=True)

        page.goto(f"{live_server}/me/plan/print")
        expect(page.locator("[data-plan-times]")).to_contain_text("7:30")
        page.screenshot(path=str(ARTIFACTS / f"plan-print-times-{width}.png"), full_page=True)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download (.ics)").click()
        calendar = Calendar.from_ical(open(download.value.path(), "rb").read())
        events = sorted(calendar.walk("VEVENT"), key=lambda event: event.decoded("DTSTART").time())
        assert [event.decoded("DTSTART").time() for event in events] == [time(7, 30), time(12, 15)]
        assert str(events[0]["SUMMARY"]) == "Home plan, round 1 of 2: Bird dog, Knee hug"
        assert str(events[1]["SUMMARY"]) == "Home plan, round 2 of 2: Bird dog"
        assert sum(len(event.walk("VALARM")) for event in events) == 2
        assert errors == []
    finally:
        context.close()
