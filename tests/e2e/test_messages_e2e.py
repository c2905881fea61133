"""Browser: a patient (on a phone-sized screen) and a coach exchange messages; unread counts follow."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

PATIENT = "patient3@example.com"  # Linh Nguyen, coached by Marcus Bell (coach@example.com)
PATIENT_NAME = "Linh Nguyen"
COACH = "coach@example.com"


def _badge(page) -> int:
    """The unread count on the Messages nav entry (0 when no badge shows)."""
    badge = page.locator('[data-badge="unread_messages"]')
    if badge.count() == 0:
        return 0
    return int(re.match(r"\d+", badge.first.text_content().strip()).group(0))


def test_patient_and_coach_exchange_messages(live_server, page, mobile_page):
    patient, coach = mobile_page, page

    # The coach starts with whatever the demo left unread.
    log_in(coach, live_server, COACH)
    coach.goto(f"{live_server}/messages/inbox")
    coach_unread_before = _badge(coach)

    # The patient writes on a 360 px screen; an empty message is refused beside the field.
    log_in(patient, live_server, PATIENT)
    patient.goto(f"{live_server}/messages/")
    expect(patient.get_by_role("heading", level=1)).to_have_text("Messages with your coach")
    patient.get_by_role("button", name="Send message").click()
    expect(patient.locator("#body-error")).to_contain_text("Write a message before sending.")
    patient.get_by_label("Your message").fill("My lower back felt tight after work.\nShould I stretch tonight?")
    patient.get_by_role("button", name="Send message").click()
    expect(patient.get_by_text("Message sent.")).to_be_visible()
    mine = patient.locator(".message-mine").last
    expect(mine).to_have_text("My lower back felt tight after work.\nShould I stretch tonight?")
    expect(patient.locator(".message-sent").last).to_have_text("Sent")
    assert patient.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling

    # The coach's counts go up: navigation, roster and inbox.
    coach.goto(f"{live_server}/coach/")
    assert _badge(coach) == coach_unread_before + 1
    row = coach.get_by_role("row").filter(has_text=PATIENT_NAME)
    expect(row.locator("[data-unread]")).to_have_text(re.compile(r"1 unread"))
    coach.goto(f"{live_server}/messages/inbox")
    item = coach.locator(".inbox-list li").filter(has_text=PATIENT_NAME)
    expect(item).to_contain_text("1 unread")
    expect(item).to_contain_text("My lower back felt tight after work.")

    # Opening the thread reads it: the count drops, and the patient will see "Seen".
    item.get_by_role("link", name=PATIENT_NAME).click()
    expect(coach.get_by_role("heading", level=1)).to_have_text(f"Messages with {PATIENT_NAME}")
    expect(coach.locator(".message-theirs").last).to_contain_text("Should I stretch tonight?")
    assert _badge(coach) == coach_unread_before
    coach.get_by_label("Your message").fill("Yes: two gentle knee-to-chest stretches, then rest. Tell me how it goes.")
    coach.get_by_role("button", name="Send message").click()
    expect(coach.get_by_text("Message sent.")).to_be_visible()

    # The patient sees one unread message in the navigation, then reads it.
    patient.goto(f"{live_server}/me/plan")
    assert _badge(patient) == 1
    patient.goto(f"{live_server}/messages/")
    expect(patient.locator(".message-theirs").last).to_contain_text("two gentle knee-to-chest stretches")
    expect(patient.locator(".message-seen").last).to_contain_text("Seen")
    assert _badge(patient) == 0

    # And the coach sees that the reply was read.
    coach.reload()
    expect(coach.locator(".message-seen").last).to_contain_text("Seen")

    # The only console message is the browser noting the 400 of the empty message.
    assert all("status of 400" in error for error in patient.console_errors)
    assert coach.console_errors == []


def test_coach_replies_from_the_patient_page(live_server, page):
    log_in(page, live_server, COACH)
    page.goto(f"{live_server}/coach/")
    page.get_by_role("link", name="Maria Gonzalez", exact=True).click()
    panel = page.locator("#messages")
    expect(panel.get_by_role("heading", name=re.compile("Messages"))).to_be_visible()
    panel.get_by_label("Your message").fill("A five-minute walk every hour will help. Set a timer.")
    panel.get_by_role("button", name="Send message").click()
    expect(page.get_by_text("Message sent.")).to_be_visible()
    assert page.url.endswith("#messages") and "/coach/patients/" in page.url
    expect(page.locator("#messages .message-mine").last).to_contain_text("five-minute walk")
    assert page.console_errors == []


def test_patient_prints_the_plan_and_downloads_the_calendar(live_server, page):
    from icalendar import Calendar

    log_in(page, live_server, "patient2@example.com")
    page.goto(f"{live_server}/me/plan")
    titles = page.locator("#items-heading ~ ul h3").all_text_contents()
    assert titles, "the demo patient has a plan"

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to my calendar (.ics)").click()
    download = download_info.value
    assert download.suggested_filename == "holistiq-home-plan.ics"
    calendar = Calendar.from_ical(open(download.path(), "rb").read())
    # One event per time of day the patient does their plan (at most three alarms a day), each
    # naming that round's items: every item of the plan is in the first round.
    summaries = [str(event["SUMMARY"]) for event in calendar.walk("VEVENT")]
    assert 1 <= len(summaries) <= 3
    first_round = next(summary for summary in summaries if "round 1 " in summary or len(summaries) == 1)
    for title in titles:
        assert title.strip() in first_round

    page.get_by_role("link", name="Print my plan").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".print-item")).to_have_count(len(titles))
    expect(page.get_by_role("button", name="Print this plan")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print this plan")).to_be_hidden()
    expect(page.locator("#calendar-heading")).to_be_hidden()
    expect(page.locator(".print-item").first).to_be_visible()
    expect(page.locator(".navbar")).to_have_count(0)
    pdf = page.pdf(format="Letter")  # Chromium lays it out for paper without errors
    assert pdf[:4] == b"%PDF"
    assert page.console_errors == []
