"""Pictures where patients decide: large on Today's cards, opened full width on a tap, thumbnails on My plan and in the library."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import axe_violations, needs_axe
from tests.e2e.conftest import log_in

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


def test_the_printed_plan_shows_each_movements_start_and_end_at_35_mm_with_its_dose(page, live_server, tmp_path):
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
    pdf = tmp_path / "plan.pdf"
    page.pdf(path=str(pdf), format="Letter")
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-"
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    # Several items a page, as handouts do (the header and the safety box take part of the first and last).
    assert 1 <= pages <= n // 3 + 1


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
