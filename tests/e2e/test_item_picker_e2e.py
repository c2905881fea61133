"""Browser, 1280 px and 360 px: a coach filters the library picker by typing, ticks two items, adds
them together and sees the confirmation beside the items list."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from portal.auth.models import email_lookup
from portal.extensions import db
from tests.e2e.conftest import log_in, new_consented_patient, submit
from tests.plan_factories import make_plan, make_program

pytestmark = pytest.mark.e2e

_n = itertools.count(1)


def _new_program(live_server) -> tuple[int, str]:
    """An empty program of the demo coach's own."""
    with live_server.app.app_context():
        coach = db.session.scalar(email_lookup("coach@example.com"))
        program = make_program(owner=coach, items=[], name=f"Picker program {next(_n)}")
        return program.id, program.name


def _new_patient_with_a_plan(live_server) -> tuple[int, str]:
    """A patient of the demo coach whose plan is empty (the demo patients stay as they are)."""
    n = next(_n)
    with live_server.app.app_context():
        patient = new_consented_patient(f"Paula Picker {n}", f"picker{n}@example.org")
        coach = patient.coach
        make_plan(patient, coach, items=[])
        return patient.id, patient.name


def _filter_tick_and_add(page) -> None:
    """On the picker: type, see the rows narrow without a reload, tick two, add them."""
    page.evaluate("window.sameDocument = true")  # gone if filtering reloads the page
    shown = page.locator("[data-picker-count]")
    all_items = int(shown.inner_text().split()[0])
    page.get_by_label("Search", exact=True).press_sequentially("bridge", delay=20)
    expect(page.get_by_label("Glute bridge")).to_be_visible()
    expect(page.get_by_label("Pelvic tilts")).to_be_hidden()
    expect(shown).not_to_have_text(f"{all_items} items shown")
    assert "q=bridge" in page.url  # the search is kept in the address
    page.get_by_label("Glute bridge").check()
    page.get_by_label("Bridge with march").check()
    expect(page.locator("[data-picker-selected]")).to_have_text("2 selected")
    # Narrowing to posture habits keeps the ticked rows in view.
    page.get_by_label("Type").select_option(label="Posture habits")
    expect(page.get_by_label("Glute bridge")).to_be_visible()
    expect(page.get_by_label("Pelvic tilts")).to_be_hidden()
    assert page.evaluate("window.sameDocument === true")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    submit(page, page.get_by_role("button", name="Add selected"))


@pytest.mark.parametrize("viewport", ["page", "mobile_page"])
def test_coach_adds_two_items_to_a_program(live_server, request, viewport):
    page = request.getfixturevalue(viewport)
    program_id, name = _new_program(live_server)
    log_in(page, live_server, "coach@example.com")
    page.goto(f"{live_server}/coach/programs/{program_id}")
    page.get_by_role("link", name="Add items").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Add items to “{name}”")
    # The kind filter speaks the patient's words.
    options = page.get_by_label("Type").locator("option").all_inner_texts()
    assert options[1:] == ["Stretches & exercises", "Posture habits", "Nutrition"]
    _filter_tick_and_add(page)

    status = page.locator("#program-items-status")
    message = "2 items added with their usual doses: “Glute bridge”, “Bridge with march”."
    expect(status).to_contain_text(message)
    expect(status).to_be_in_viewport()
    expect(status).to_be_focused()
    expect(page.get_by_role("heading", name="Items (2)")).to_be_in_viewport()
    titles = page.locator("#program-items ~ ol h3").all_inner_texts()
    assert titles == ["Glute bridge", "Bridge with march"]
    assert not page.console_errors  # the picker's script runs under the page's CSP


def test_the_search_survives_a_reload_and_works_without_javascript(live_server, browser):
    program_id, _name = _new_program(live_server)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server, "coach@example.com")
    page.goto(f"{live_server}/coach/programs/{program_id}/items/add")
    page.get_by_label("Search", exact=True).fill("bridge")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?q=bridge"))
    expect(page.get_by_label("Pelvic tilts")).to_be_hidden()
    page.reload()
    expect(page.get_by_label("Search", exact=True)).to_have_value("bridge")
    expect(page.get_by_label("Pelvic tilts")).to_be_hidden()
    page.get_by_label("Glute bridge").check()
    page.get_by_label("Single-leg bridge").check()
    page.get_by_role("button", name="Add selected").click()
    expect(page.locator("#program-items-status")).to_contain_text("2 items added with their usual doses")
    context.close()


def test_coach_adds_two_items_to_a_patients_plan_on_a_phone(live_server, mobile_page):
    page = mobile_page
    patient_id, name = _new_patient_with_a_plan(live_server)
    log_in(page, live_server, "coach@example.com")
    page.goto(f"{live_server}/coach/patients/{patient_id}")
    page.locator("#plan").get_by_role("link", name="Add items").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Add items to {name}'s plan")
    _filter_tick_and_add(page)

    status = page.locator("#plan-items-status")
    expect(status).to_contain_text("2 items added with their usual doses: “Glute bridge”, “Bridge with march”.")
    expect(status).to_be_in_viewport()
    expect(status).to_be_focused()
    expect(page.locator(".plan-items > li")).to_have_count(2)
    assert not page.console_errors


def test_a_coach_scans_the_picker_on_a_phone_and_removing_asks_first(mobile_page, live_server):
    """360 px: 64 px pictures with the usual dose, a body-area chip narrows the list in place, the
    coach's recently used items first; in the plan editor "Remove" sits apart from "Pause" and asks."""
    patient_id, _name = _new_patient_with_a_plan(live_server)
    page = mobile_page
    log_in(page, live_server, "coach@example.com")
    page.goto(f"{live_server}/coach/patients/{patient_id}")
    page.get_by_role("link", name="Add items").click()
    page.wait_for_load_state("load")
    rows = page.locator("li.item-picker-row:not([hidden])")
    first = rows.first
    assert first.locator("img.item-picker-thumb").bounding_box()["width"] >= 64
    expect(first.locator("[data-dose]")).not_to_be_empty()
    # The demo coach has used items in their patients' plans: those come first.
    expect(page.locator(".item-picker-group").first).to_have_text(re.compile("Recently used", re.I))
    before = rows.count()
    page.locator("label[for=area-neck]").click()
    expect(page).to_have_url(re.compile(r"area=neck"))
    after = page.locator("li.item-picker-row:not([hidden])")
    assert 0 < after.count() < before
    for area in after.evaluate_all("rows => rows.map(r => r.dataset.area)"):
        assert area == "neck"
    # Add one, then look at it in the plan editor.
    after.first.locator("input[type=checkbox]").check()
    submit(page, page.get_by_role("button", name=re.compile("Add selected")))
    card = page.locator("ol.plan-items > li").first
    pause = card.locator("details.pause-item > summary")
    remove = card.locator("details.item-remove > summary")
    assert remove.bounding_box()["y"] >= pause.bounding_box()["y"] + pause.bounding_box()["height"]
    remove.click()
    expect(card.get_by_text(re.compile("off the plan\\?"))).to_be_visible()
    submit(page, card.get_by_role("button", name=re.compile("Yes, remove")))
    expect(page.locator("ol.plan-items > li")).to_have_count(0)
