"""Pictures where patients decide: large on Today's cards, opened full width on a tap, thumbnails on My plan and in the library."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from portal.exercises.models import LibraryItem
from portal.exercises.translations import english_text
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
        dose = item.locator(".print-facts-line")  # the title and the dose beside them; longer text may run under
        for part in (item.locator("h3"), dose):  # where its text starts (the box itself may run behind the drawings)
            text_x = part.evaluate(
                "e => { const r = document.createRange(); r.selectNodeContents(e); "
                "return r.getBoundingClientRect().x; }"
            )
            assert text_x >= second["x"] + second["width"]
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


def _patient_with_a_plan(live_server, slugs: list[str]) -> tuple[str, list]:
    """A new patient of the demo coach whose plan holds these starter items, in this order (with a coach's note on
    the first); returns the email and each item's English text (title, steps and cautions), in order."""
    email = f"handout{next(_patients)}@example.org"
    with live_server.app.app_context():
        patient = new_consented_patient("Hana Handout", email)
        by_slug = {item.slug: item for item in db.session.scalars(db.select(LibraryItem))}
        plan = make_plan(patient, items=[by_slug[slug] for slug in slugs], title="Handout plan")
        plan.items[0].coach_note = COACH_NOTE
        db.session.commit()
        texts = [english_text(by_slug[slug]) for slug in slugs]
    return email, texts


COACH_NOTE = "Slow and easy; stop if the pain runs down your leg. " * 4


def _pdf_pages(page, path, paper: str) -> int:
    page.pdf(path=str(path), format=paper)
    data = path.read_bytes()
    assert data[:5] == b"%PDF-"
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


# Whether an element shows all of its text: not clamped to a number of lines, nothing hidden past its box.
_SHOWN_WHOLE = """e => {
  const style = getComputedStyle(e);
  const clamp = style.webkitLineClamp || style.getPropertyValue('-webkit-line-clamp');
  return (clamp === '' || clamp === 'none') && style.textOverflow !== 'ellipsis'
    && e.scrollHeight <= e.clientHeight + 1 && e.scrollWidth <= e.clientWidth + 1;
}"""


def _open_printed(browser, live_server, email: str, paper: str):
    width_mm, height_mm = PAPER[paper]
    printable_w, printable_h = (width_mm - 2 * PAGE_MARGIN) * MM, (height_mm - 2 * PAGE_MARGIN) * MM
    context = browser.new_context(viewport={"width": int(printable_w), "height": 900})
    page = context.new_page()
    log_in(page, live_server, email)
    page.goto(f"{live_server}/me/plan/print")
    page.emulate_media(media="print")
    return context, page, printable_h


def _item_share(item) -> float:
    """The height an item takes on paper, with the space under it."""
    margin = item.evaluate("e => parseFloat(getComputedStyle(e).marginBottom)")
    return item.bounding_box()["height"] + margin


@pytest.mark.parametrize("paper", sorted(PAPER))
def test_the_printed_plan_prints_every_caution_and_step_whole(browser, live_server, tmp_path, paper):
    """Twelve items, the wordiest movements and a habit: on paper every caution, every step and the coach's note
    are printed whole, in at least 9 pt, nothing clamped or cut with an ellipsis (a caution that stops mid-sentence
    is a safety risk, and the link under an item cannot be clicked on paper), each item on one page. The wordiest
    items may take more than a sixth of a page, so the plan may take a page more than six a page would."""
    email, texts = _patient_with_a_plan(live_server, [*WORDY, "lift-with-hips-and-legs"])
    context, page, printable_h = _open_printed(browser, live_server, email, paper)
    try:
        items = page.locator("article.print-item")
        assert items.count() == 12
        header = page.locator("header.print-heading").bounding_box()
        assert header["height"] <= printable_h * 0.2  # a compact header, on the first page only
        for i, text in enumerate(texts):
            item = items.nth(i)
            assert item.bounding_box()["height"] <= printable_h  # never split across pages
            caution = item.locator(".print-caution")
            assert text.cautions, text.title  # every movement here has a caution to print
            assert " ".join(text.cautions.split()) in " ".join(caution.inner_text().split()), text.title
            assert caution.evaluate(_SHOWN_WHOLE), text.title
            steps = item.locator("ol.steps")
            assert steps.locator("li").all_inner_texts() == list(text.steps), text.title
            assert steps.evaluate(_SHOWN_WHOLE), text.title
            link = item.locator(".print-link")
            assert link.evaluate(_SHOWN_WHOLE), text.title
            for part in (caution, steps):
                assert part.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 12, text.title  # 9 pt
        note = items.nth(0).locator(".print-note")
        assert " ".join(COACH_NOTE.split()) in " ".join(note.inner_text().split())
        assert note.evaluate(_SHOWN_WHOLE)
        for k in range(12):
            for still in items.nth(k).locator("img.print-still-img").all():
                assert still.bounding_box()["width"] >= 35 * MM - 0.5
        assert _pdf_pages(page, tmp_path / f"plan-{paper}.pdf", paper) <= 4
    finally:
        context.close()


@pytest.mark.parametrize("paper", sorted(PAPER))
def test_the_demo_patients_printed_plan_fits_six_items_a_page(browser, live_server, tmp_path, paper):
    """The common case, the demo patient's plan of typical items printed whole: an item takes a sixth of a page
    on average, and the plan, with its header and the safety box, takes no more pages than six items a page need."""
    context, page, printable_h = _open_printed(browser, live_server, "patient@example.com", paper)
    try:
        items = page.locator("article.print-item").all()
        assert len(items) >= 7  # more than one page's worth
        for item in items:
            for part in item.locator(".print-caution, ol.steps").all():
                assert part.evaluate(_SHOWN_WHOLE)
        shares = [_item_share(item) for item in items]
        assert sum(shares) / len(shares) <= printable_h / 6, [round(s / MM, 1) for s in shares]
        assert _pdf_pages(page, tmp_path / f"demo-{paper}.pdf", paper) <= -(-len(items) // 6)
    finally:
        context.close()


@needs_axe
def test_the_picture_pages_pass_axe(page, mobile_page, live_server):
    """Today with its picture dialog open, My plan, the library and the printable plan (on screen and as printed)
    at 360 px; the picker and All drawings at 1280 px."""
    log_in(mobile_page, live_server, "patient2@example.com")
    for path in ("/me/", "/me/plan", "/library/"):
        mobile_page.goto(f"{live_server}{path}")
        assert axe_violations(mobile_page) == [], path
    mobile_page.goto(f"{live_server}/me/plan/print")  # the printable plan on screen and as printed
    assert axe_violations(mobile_page) == []
    mobile_page.emulate_media(media="print")
    assert axe_violations(mobile_page) == []
    mobile_page.emulate_media(media="screen")
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
