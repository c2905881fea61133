"""Browser, 360 px and 1280 px: adherence keeps its history and a day in progress is not held
against the patient.

A coach reschedules an item in the plan editor: the patient's progress page and the coach's
per-item table show every past week's figures as before. A coach adds two items today: the
7-day adherence on the coach's summary, the roster and the patient's chart stays where it
was, until the patient marks one of them done on Today, which raises it.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.care.models import ItemLog
from portal.extensions import db
from portal.timeutil import local_today
from tests.e2e.conftest import log_in, new_consented_patient, submit
from tests.plan_factories import make_item, make_plan, schedule_from_start

pytestmark = pytest.mark.e2e

COACH = "coach@example.com"
_n = itertools.count(1)


def _patient(live_server, done_days_ago: list[int], started_days_ago: int = 27) -> dict:
    """A new patient of the demo coach with one daily item ("Pelvic tilt …", once a day) since
    ``started_days_ago`` days, done on the days ``done_days_ago`` before today."""
    n = next(_n)
    email = f"history{n}-{started_days_ago}@example.org"
    with live_server.app.app_context():
        patient = new_consented_patient(f"Hana History {n}{started_days_ago}", email, COACH)
        today = local_today(patient.tz)
        title = f"Pelvic tilt {email}"
        plan = make_plan(
            patient, patient.coach, [make_item(title=title)], start_date=today - timedelta(days=started_days_ago)
        )
        item = plan.items[0]
        item.sets, item.reps, item.hold_seconds, item.times_per_day = 1, 8, None, 1
        schedule_from_start(plan)
        for back in done_days_ago:
            db.session.add(
                ItemLog(plan_item_id=item.id, patient_id=patient.id, day=today - timedelta(days=back), sessions_done=1)
            )
        db.session.commit()
        return {"email": email, "name": patient.name, "id": patient.id, "item": item.id, "title": title}


def _contexts(browser, width: int):
    """A coach's and a patient's browser at ``width``, each collecting console errors."""
    pages, errors = [], []
    for _ in range(2):
        context = browser.new_context(viewport={"width": width, "height": 800})
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        pages.append(page)
    return pages, errors


def _tables(page) -> tuple[list[str], list[str]]:
    """The progress figures as text: the weekly table's rows, the per-item table's rows."""
    weekly = page.locator("#adherence-title").locator("xpath=..").locator("tbody tr").all_text_contents()
    items = page.locator("section[aria-labelledby=items-title] tbody tr").all_text_contents()
    assert weekly and items
    return weekly, items


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", [360, 1280])
def test_a_coach_reschedules_an_item_and_the_patients_past_weeks_keep_their_figures(live_server, browser, width):
    # Done on most days of four weeks, weekends included: a weekdays-only schedule would owe fewer.
    patient = _patient(live_server, done_days_ago=[d for d in range(1, 28) if d % 3])
    (coach, me), errors = _contexts(browser, width)
    try:
        log_in(me, live_server, patient["email"])
        me.goto(f"{live_server}/me/progress")
        before = _tables(me)
        log_in(coach, live_server, COACH)
        coach.goto(f"{live_server}/coach/patients/{patient['id']}")
        coach_before = _tables(coach)

        # The coach moves the item to weekdays only, in the plan editor.
        coach.locator(f"#plan-item-{patient['item']}").get_by_role("link", name=f"Edit {patient['title']}").click()
        coach.get_by_label("Saturday").uncheck()
        coach.get_by_label("Sunday").uncheck()
        _fits(coach)
        submit(coach, coach.get_by_role("button", name="Save item"))
        expect(coach.get_by_text(f"“{patient['title']}” saved.")).to_be_visible()
        expect(coach.locator(f"#plan-item-{patient['item']} [data-dose]")).not_to_contain_text("Every day")

        # Every past week, and the four weeks' figure per item, as before: on the coach's page ...
        coach.goto(f"{live_server}/coach/patients/{patient['id']}")
        assert _tables(coach) == coach_before
        # ... and on the patient's.
        me.goto(f"{live_server}/me/progress")
        assert _tables(me) == before
        _fits(me)
        assert errors == []
    finally:
        coach.context.close()
        me.context.close()


def _coach_adherence(coach) -> str:
    return coach.locator("dt", has_text="7-day adherence").locator("xpath=following-sibling::dd[1]").inner_text()


@pytest.mark.parametrize("width", [360, 1280])
def test_items_added_today_leave_the_7_day_adherence_unchanged(live_server, browser, width):
    # Three of the last six days done: 50 %, whatever is due today.
    patient = _patient(live_server, done_days_ago=[1, 3, 5], started_days_ago=20)
    n = next(_n)
    with live_server.app.app_context():
        new_titles = [make_item(title=f"Bird dog {n}x{width}").title, make_item(title=f"Chin tuck {n}x{width}").title]
    (coach, me), errors = _contexts(browser, width)
    try:
        log_in(coach, live_server, COACH)
        coach.goto(f"{live_server}/coach/patients/{patient['id']}")
        expect(coach.locator("dt", has_text="7-day adherence")).to_be_visible()
        assert _coach_adherence(coach) == "50 %"
        log_in(me, live_server, patient["email"])
        me.goto(f"{live_server}/me/progress")
        weekly_before, _items = _tables(me)

        # The coach adds two items through the picker.
        coach.get_by_role("link", name="Add items").click()
        for title in new_titles:
            search = coach.get_by_label("Search", exact=True)
            search.fill("")
            search.press_sequentially(title, delay=10)
            coach.get_by_label(title).check()
        _fits(coach)
        submit(coach, coach.get_by_role("button", name="Add selected"))
        coach.goto(f"{live_server}/coach/patients/{patient['id']}")
        for title in new_titles:
            expect(coach.locator("#plan").get_by_text(title).first).to_be_visible()

        # Added today, not done yet: the figure stays where it was, everywhere.
        assert _coach_adherence(coach) == "50 %"
        coach.goto(f"{live_server}/coach/?q={patient['name'].replace(' ', '+')}")
        row = coach.locator("tr", has=coach.get_by_role("link", name=patient["name"]))
        expect(row.locator('[data-col="adherence"]')).to_have_text("50%")
        me.goto(f"{live_server}/me/progress")
        weekly_after, items_after = _tables(me)
        assert weekly_after == weekly_before
        assert any(new_titles[0] in row for row in items_after)  # listed, with nothing held against it
        expect(
            me.get_by_text("A day counts in full once it is over; today counts only what is already done.").first
        ).to_be_visible()

        # Marking one of them done today raises it: 4 of 7.
        me.goto(f"{live_server}/me/")
        card = me.locator("li.card-item", has_text=new_titles[0])
        card.get_by_role("button", name=f"Mark {new_titles[0]} done").click()
        expect(card.get_by_role("button", name=f"Mark {new_titles[0]} not done")).to_be_visible()
        _fits(me)
        coach.goto(f"{live_server}/coach/patients/{patient['id']}")
        assert _coach_adherence(coach) == "57 %"
        assert errors == []
    finally:
        coach.context.close()
        me.context.close()
