"""Browser, 360 px and 1280 px: a red flag resolved today keeps its patient above every patient on track."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.care.models import CheckIn
from portal.extensions import db
from portal.timeutil import local_today
from tests.e2e.conftest import ARTIFACTS, log_in, new_consented_patient, submit
from tests.plan_factories import make_item, make_plan

pytestmark = pytest.mark.e2e

COACH = "coach@example.com"  # Marcus Bell
_n = itertools.count(1)


def _new_patient(live_server, name: str, *, checkin_days_ago: int | None = 0) -> str:
    """A patient of the demo coach on a month-old plan, checked in ``checkin_days_ago`` (pain 3)."""
    email = f"attention{next(_n)}@example.org"
    with live_server.app.app_context():
        patient = new_consented_patient(name, email, COACH)
        coach = patient.coach
        today = local_today(patient.tz)
        make_plan(patient, coach, [make_item(title=f"Bridge {email}")], start_date=today - timedelta(days=30))
        if checkin_days_ago is not None:
            day = today - timedelta(days=checkin_days_ago)
            db.session.add(CheckIn(patient_id=patient.id, day=day, pain=3, stiffness=3))
        db.session.commit()
    return email


def _reasons(page) -> list[tuple[str, str]]:
    """(name, reason) of every roster row, top to bottom."""
    rows = page.locator("table.roster tbody tr")
    return [
        (row.locator("th").inner_text().strip(), row.locator('[data-col="reason"]').inner_text().strip())
        for row in rows.all()
    ]


@pytest.mark.parametrize("width", [360, 1280])
def test_a_resolved_same_day_red_flag_ranks_above_every_patient_on_track(live_server, mobile_page, browser, width):
    name = f"Zora Flagged {width}"  # last by name: only the ranking can lift her
    _new_patient(live_server, f"Abel Steady {width}")  # on track: checked in today, month-old plan
    flagged = _new_patient(live_server, name, checkin_days_ago=None)

    # The patient's check-in answers "yes" to a red-flag question (on her phone).
    phone = mobile_page
    log_in(phone, live_server, flagged)
    phone.goto(f"{live_server}/me/checkin")
    phone.get_by_role("radiogroup", name="Pain right now (0–10)").get_by_text("5", exact=True).click()
    phone.get_by_role("radiogroup", name="Stiffness right now (0–10)").get_by_text("3", exact=True).click()
    phone.get_by_label("Muscle spasm episodes since yesterday").fill("0")
    for radio in phone.locator(".red-flag-question input[value=no]").all():
        radio.check()
    phone.get_by_role("group", name="New numbness or tingling in your legs?").get_by_label("Yes").check()
    phone.get_by_label("Notes for your coach (optional)").fill("Tingling down my left leg since this morning")
    submit(phone, phone.get_by_role("button", name="Save check-in"))

    context = browser.new_context(viewport={"width": width, "height": 900})
    coach = context.new_page()
    errors: list[str] = []
    coach.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        log_in(coach, live_server, COACH)
        coach.goto(f"{live_server}/coach/alerts")
        card = coach.locator("article.alert-card", has_text=name)
        # The card carries the patient's own words from that check-in, and the check-in's day.
        expect(card).to_contain_text("Tingling down my left leg since this morning")
        card.get_by_label("What did you do? (note for the record)").fill("Called Zora; seen at the clinic today.")
        card.get_by_label("Yes, resume them now").check()
        submit(coach, card.get_by_role("button", name="Resolve alert"))

        coach.goto(f"{live_server}/coach/")
        reasons = _reasons(coach)
        names = [row_name for row_name, _reason in reasons]
        on_track = [i for i, (_name, reason) in enumerate(reasons) if reason == "On track"]
        assert on_track, reasons  # the demo coach has patients on track (and Abel is one)
        mine = names.index(name)
        assert mine < min(on_track), reasons
        assert reasons[mine][1].startswith("Red flag ") and reasons[mine][1].endswith(", resolved")
        assert coach.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        coach.screenshot(path=str(ARTIFACTS / f"roster-attention-{width}.png"), full_page=True)
        assert errors == []
    finally:
        context.close()
