"""Browser: daily check-in, My progress, red-flag safety message and the coach's alert, own-data download."""

from __future__ import annotations

import json
import zipfile

import pytest
from playwright.sync_api import expect

from portal.auth.models import email_lookup
from portal.care.models import Alert, AlertKind, CheckIn
from portal.extensions import db
from tests.e2e.conftest import log_in, open_menu

pytestmark = pytest.mark.e2e

CHECKIN_PATIENT = "patient2@example.com"  # James Carter (coach Marcus Bell)
RED_FLAG_PATIENT = "patient8@example.com"  # William Brooks (coach Priya Raman)
RED_FLAG_NAME = "William Brooks"
RED_FLAG_COACH = "coach2@example.com"
EXPORT_PATIENT = "patient9@example.com"


def _checkins_today(live_server, email: str) -> list[CheckIn]:
    from portal.timeutil import local_today

    with live_server.app.app_context():
        patient = db.session.scalar(email_lookup(email))
        rows = db.session.scalars(
            db.select(CheckIn).where(CheckIn.patient_id == patient.id, CheckIn.day == local_today(patient.tz))
        ).all()
        db.session.expunge_all()
        return rows


def _answer_safety_questions_no(page) -> None:
    for radio in page.locator(".red-flag-question input[value=no]").all():
        radio.check()


def _tap(page, legend: str, value: int) -> None:
    """Tap one number of a 0–10 tap scale (its label is the visible button)."""
    page.get_by_role("radiogroup", name=legend).get_by_text(str(value), exact=True).click()


def _open_nav(page, name: str) -> None:
    open_menu(page)
    page.get_by_role("link", name=name, exact=True).first.click()


def test_patient_checks_in_sees_progress_and_edits_same_day(live_server, mobile_page):
    page = mobile_page  # 360 px wide
    log_in(page, live_server, CHECKIN_PATIENT)
    _open_nav(page, "Check in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Daily check-in")
    # Nothing overflows sideways on a small phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    # A missing answer is explained beside the field, and nothing is saved.
    _tap(page, "Stiffness right now (0–10)", 3)
    page.get_by_label("Muscle spasm episodes since yesterday").fill("1")
    page.get_by_role("button", name="Save check-in").click()
    expect(page.locator("#pain-error")).to_contain_text("from 0 to 10")
    assert _checkins_today(live_server, CHECKIN_PATIENT) == []

    _tap(page, "Pain right now (0–10)", 3)
    page.get_by_label("Notes for your coach (optional)").fill("Walked the dog twice.")
    _answer_safety_questions_no(page)
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_text("Check-in saved.")).to_be_visible()
    expect(page.locator("#safety")).to_have_count(0)  # no red flag, no advice

    _open_nav(page, "My progress")
    expect(page.get_by_role("heading", level=1)).to_have_text("My progress")
    page.get_by_text("Show pain and stiffness as a table").click()
    first_row = page.locator("figure").first.locator("tbody tr").first
    expect(first_row).to_contain_text("3")
    expect(page.locator('canvas[data-series="pain"][data-drawn="true"]')).to_have_count(1)

    # Editing the same day updates the one check-in.
    _open_nav(page, "Check in")
    pain = page.get_by_role("radiogroup", name="Pain right now (0–10)")
    expect(pain.get_by_role("radio", name="3")).to_be_checked()
    # By keyboard: the checked radio takes focus, the left arrow moves to 2 and picks it.
    pain.get_by_role("radio", name="3").focus()
    page.keyboard.press("ArrowLeft")
    expect(pain.get_by_role("radio", name="2")).to_be_checked()
    expect(page.get_by_text("10 = worst pain imaginable")).to_be_visible()
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_text("Today's check-in is updated.")).to_be_visible()
    rows = _checkins_today(live_server, CHECKIN_PATIENT)
    assert [(r.pain, r.notes) for r in rows] == [(2, "Walked the dog twice.")]
    # The only console error is the browser logging the deliberate 422 above.
    assert [e for e in page.console_errors if "422" not in e] == []


def test_red_flag_shows_safety_message_and_coach_resolves_the_alert(live_server, page, browser):
    log_in(page, live_server, RED_FLAG_PATIENT)
    page.goto(f"{live_server}/me/checkin")
    _tap(page, "Pain right now (0–10)", 7)
    _tap(page, "Stiffness right now (0–10)", 6)
    page.get_by_label("Muscle spasm episodes since yesterday").fill("2")
    hint = page.locator("#red-flag-hint")
    expect(hint).to_be_hidden()
    _answer_safety_questions_no(page)
    page.get_by_role("group", name="Trouble walking or standing?").get_by_label("Yes").check()
    expect(hint).to_contain_text("call 911")  # advice shows as soon as "Yes" is picked
    page.get_by_role("button", name="Save check-in").click()
    safety = page.get_by_role("alert").filter(has_text="Call your clinic today")
    expect(safety).to_be_visible()
    expect(safety).to_contain_text("911")
    expect(safety).to_contain_text("555-01")  # the clinic's phone

    coach_context = browser.new_context(viewport={"width": 1280, "height": 900})
    coach = coach_context.new_page()
    try:
        log_in(coach, live_server, RED_FLAG_COACH)
        badge = coach.locator('[data-badge="open_alerts"]')
        expect(badge).to_be_visible()
        coach.get_by_role("link", name="Alerts").first.click()
        expect(coach.get_by_role("heading", level=1)).to_have_text("Alerts")
        card = coach.locator("article.alert-card").filter(has_text=RED_FLAG_NAME).filter(has_text="Red flag")
        expect(card).to_contain_text("Urgent")
        expect(card).to_contain_text("trouble walking or standing")
        # The most urgent alert is listed first.
        expect(coach.locator("article.alert-card").first).to_contain_text("Urgent")

        # A blank note (spaces pass the browser's own check) is refused beside the field.
        card.get_by_label("What did you do? (note for the record)").fill("   ")
        card.get_by_label("No, keep them paused").check()  # the browser asks for this choice before sending
        card.get_by_role("button", name="Resolve alert").click()
        card = coach.locator("article.alert-card").filter(has_text=RED_FLAG_NAME).filter(has_text="Red flag")
        expect(card).to_contain_text("Write a short note")
        card.get_by_label("What did you do? (note for the record)").fill("Called William; seen at the clinic today.")
        card.get_by_label("No, keep them paused").check()
        card.get_by_role("button", name="Resolve alert").click()
        expect(coach.get_by_text(f"Alert for {RED_FLAG_NAME} resolved.")).to_be_visible()
        expect(
            coach.locator("article.alert-card").filter(has_text=RED_FLAG_NAME).filter(has_text="Red flag")
        ).to_have_count(0)
        coach.get_by_role("link", name="Resolved").click()
        expect(coach.get_by_text("Called William; seen at the clinic today.")).to_be_visible()
    finally:
        coach_context.close()

    with live_server.app.app_context():
        patient = db.session.scalar(email_lookup(RED_FLAG_PATIENT))
        alerts = db.session.scalars(
            db.select(Alert).where(Alert.patient_id == patient.id, Alert.kind == AlertKind.RED_FLAG)
        ).all()
        assert len(alerts) == 1 and alerts[0].resolved_at is not None


def test_patient_downloads_own_data(live_server, page, tmp_path):
    log_in(page, live_server, EXPORT_PATIENT)
    page.goto(f"{live_server}/me/progress")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as JSON").click()
    path = tmp_path / "data.json"
    download_info.value.save_as(path)
    data = json.loads(path.read_text())
    assert data["profile"]["email"] == EXPORT_PATIENT
    assert len(data["checkins"]) > 20 and data["plans"]

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as CSV (ZIP)").click()
    zpath = tmp_path / "data.zip"
    download_info.value.save_as(zpath)
    with zipfile.ZipFile(zpath) as archive:
        assert "checkins.csv" in archive.namelist()
        assert archive.read("checkins.csv").decode("utf-8-sig").startswith("day,pain,stiffness")
