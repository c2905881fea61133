"""Pictures where patients decide: large on Today's cards, opened full width on a tap, thumbnails on My plan and in the library."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from portal.exercises.models import LibraryItem
from portal.extensions import db
from tests.e2e.axe import axe_violations, needs_axe
from tests.e2e.conftest import log_in, new_consented_patient
from tests.plan_factories import make_plan

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [360, 1280])
def test_todays_drawing_opens_large_and_closes_with_escape_and_back(browser, live_server, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        log_in(page, live_server, "patient2@example.com")
        page.wait_for_load_state("load")
        thumb = page.locator("li.card-item a[data-zoom] img").first
        assert thumb.bounding_box()["width"] >= 96
        dialog = page.locator("#picture-dialog")
        thumb.click()
        expect(dialog).to_be_visible()
        big = dialog.locator("img")
        assert big.get_attribute("src") == thumb.get_attribute("src")
        assert big.get_attribute("alt") and big.get_attribute("alt").startswith("Start:")
        assert big.bounding_box()["width"] >= min(width * 0.85, 600)
        expect(dialog.locator("h2")).not_to_be_empty()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        assert page.url.split("#")[0].endswith("/me/")
        # The phone's back button closes the picture and stays on Today.
        thumb.click()
        expect(dialog).to_be_visible()
        page.go_back()
        expect(dialog).to_be_hidden()
        assert page.url.split("#")[0].endswith("/me/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    finally:
        context.close()


def test_my_plan_and_the_library_show_a_thumbnail_per_item(mobile_page, live_server):
    log_in(mobile_page, live_server, "patient2@example.com")
    mobile_page.goto(f"{live_server}/me/plan")
    cards = mobile_page.locator("#items-heading + ul > li.card-item")
    assert cards.count() >= 1
    assert cards.locator("img.item-picture").count() == cards.count()
    mobile_page.goto(f"{live_server}/library/")
    entries = mobile_page.locator("ul.library-list > li")
    assert entries.count() >= 10
    assert entries.locator("img.item-picture").count() == entries.count()
    assert mobile_page.evaluate("document.documentElement.scrollWidth") <= 360


MM = 96 / 25.4  # CSS pixels per millimetre


def test_the_printed_plan_shows_each_movements_start_and_end_at_35_mm_with_its_dose(page, live_server):
    log_in(page, live_server, "patient@example.com")
    page.goto(f"{live_server}/me/plan/print")
    page.emulate_media(media="print")
    items = page.locator("article.print-item")
    n = items.count()
    assert n >= 6
    movements = 0
    for i in range(n):
        item = items.nth(i)
        stills = item.locator("img.print-still-img")
        if stills.count() == 0:
            continue  # a posture habit or nutrition tip: its pictogram
        movements += 1
        assert stills.count() == 2
        first, second = (stills.nth(k).bounding_box() for k in range(2))
        assert first["width"] >= 35 * MM and second["width"] >= 35 * MM
        assert abs(first["y"] - second["y"]) < 1 and second["x"] > first["x"]  # side by side
        assert stills.nth(0).get_attribute("alt").startswith("Start:")
        assert stills.nth(1).get_attribute("alt").startswith("End:")
        dose = item.locator(".print-dose")
        assert dose.bounding_box()["x"] >= second["x"] + second["width"]  # beside them
        assert "Dose" in dose.inner_text()
    assert movements >= 3


# The printable height of a page (print.css: @page margins of 10 mm) and its width, Letter and A4.
PAPER = {"Letter": (215.9, 279.4), "A4": (210, 297)}
PAGE_MARGIN = 10
# The movements with the most words (steps and cautions): the plan a handout has most trouble fitting.
WORDY = [
    "diaphragmatic-breathing",
    "light-hip-hinge-lift",
    "brisk-walking-progression",
    "hip-hinge-practice",
    "pallof-press",
    "towel-hamstring-stretch",
    "prone-on-elbows",
    "bird-dog",
    "knees-bent-rest-position",
    "full-side-plank",
    "sit-to-stand",
]
_patients = itertools.count(1)


def _patient_with_a_plan(live_server, slugs: list[str]) -> str:
    """A new patient of the demo coach whose plan holds these starter items, in this order (with a coach's note on
    the first); returns the email."""
    email = f"handout{next(_patients)}@example.org"
    with live_server.app.app_context():
        patient = new_consented_patient("Hana Handout", email)
        by_slug = {item.slug: item for item in db.session.scalars(db.select(LibraryItem))}
        plan = make_plan(patient, items=[by_slug[slug] for slug in slugs], title="Handout plan")
        plan.items[0].coach_note = "Slow and easy; stop if the pain runs down your leg."
        db.session.commit()
    return email


def _pdf_pages(page, path, paper: str) -> int:
    page.pdf(path=str(path), format=paper)
    data = path.read_bytes()
    assert data[:5] == b"%PDF-"
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def test_the_printed_plan_fits_six_items_a_page_on_a4_and_letter(browser, live_server, tmp_path):
    """Twelve items (the wordiest movements and a habit) on paper: each item takes at most a sixth of a page, so a
    full page holds six; the whole plan, with its header on the first page and the safety box on the last, takes
    three pages at most. Steps are set in columns and clamped, the full text is online."""
    email = _patient_with_a_plan(live_server, [*WORDY, "lift-with-hips-and-legs"])
    for paper, (width_mm, height_mm) in PAPER.items():
        printable_w, printable_h = (width_mm - 2 * PAGE_MARGIN) * MM, (height_mm - 2 * PAGE_MARGIN) * MM
        context = browser.new_context(viewport={"width": int(printable_w), "height": 900})
        page = context.new_page()
        try:
            log_in(page, live_server, email)
            page.goto(f"{live_server}/me/plan/print")
            page.emulate_media(media="print")
            items = page.locator("article.print-item")
            assert items.count() == 12
            header = page.locator("header.print-heading").bounding_box()
            assert header["height"] <= printable_h * 0.2, paper  # a compact header, on the first page only
            for i in range(12):
                box = items.nth(i).bounding_box()
                margin = items.nth(i).evaluate("e => parseFloat(getComputedStyle(e).marginBottom)")
                assert box["height"] + margin <= printable_h / 6, (paper, i, box["height"] / MM)
                stills = items.nth(i).locator("img.print-still-img")
                for k in range(stills.count()):
                    assert stills.nth(k).bounding_box()["width"] >= 35 * MM - 0.5
            assert _pdf_pages(page, tmp_path / f"plan-{paper}.pdf", paper) <= 3, paper
        finally:
            context.close()


@needs_axe
def test_the_picture_pages_pass_axe(page, mobile_page, live_server):
    """Today with its picture dialog open, My plan and the library at 360 px; the picker and All drawings at 1280 px."""
    log_in(mobile_page, live_server, "patient2@example.com")
    for path in ("/me/", "/me/plan", "/library/"):
        mobile_page.goto(f"{live_server}{path}")
        assert axe_violations(mobile_page) == [], path
    mobile_page.goto(f"{live_server}/me/")
    mobile_page.locator("li.card-item a[data-zoom]").first.click()
    expect(mobile_page.locator("#picture-dialog")).to_be_visible()
    assert axe_violations(mobile_page) == []
    log_in(page, live_server, "coach@example.com")
    page.goto(f"{live_server}/coach/")
    page.locator("table.roster tbody a").first.click()
    page.get_by_role("link", name="Add items").first.click()
    page.wait_for_load_state("load")
    assert axe_violations(page) == []
    page.goto(f"{live_server}/library/drawings")
    assert axe_violations(page) == []
