"""Each role's main journey with the keyboard alone, and the keyboard traps found on the way.

Nothing here clicks: focus moves with Tab, controls act on Enter or Space, as for a person
who cannot use a pointer. `tab_to` presses Tab until the focused element matches, so a
control that is unreachable by Tab fails the test.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, demo_totp_code

pytestmark = pytest.mark.e2e

FOCUSED_TEXT = (
    "() => { const e = document.activeElement; if (!e) return '';"
    " const text = (e.innerText || e.value || '') + ' ' + (e.getAttribute('aria-label') || '') + ' ' + (e.name || '');"
    " return text.replace(/\\s+/g, ' ').trim(); }"
)


def tab_to(page, pattern: str, *, limit: int = 250, backwards: bool = False) -> None:
    """Press Tab until the focused element's text, value, label or name matches ``pattern``."""
    wanted = re.compile(pattern)
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if wanted.search(page.evaluate(FOCUSED_TEXT)):
            return
    raise AssertionError(f"nothing matching {pattern!r} reached with Tab on {page.url}")


def keyboard_log_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server}/login")
    tab_to(page, r"email$")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    if page.url.split("?")[0].endswith("/login/two-factor"):
        tab_to(page, r"code$")
        page.keyboard.type(demo_totp_code(live_server, email))
        with page.expect_navigation():
            page.keyboard.press("Enter")


def test_patient_marks_an_item_done_with_the_keyboard(mobile_page, live_server):
    page = mobile_page
    keyboard_log_in(page, live_server, "patient3@example.com")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "/me/" in page.url
    tab_to(page, r"^Mark .* done")
    label = page.evaluate(FOCUSED_TEXT)
    page.keyboard.press("Enter")
    # The card answers in place (or after the plain form post): the same item now offers "not done".
    title = re.sub(r"^Mark | done$", "", label)
    expect(page.get_by_role("button", name=f"Mark {title} not done")).to_be_visible()


def test_coach_opens_a_patient_and_their_plan_with_the_keyboard(page, live_server):
    keyboard_log_in(page, live_server, "coach2@example.com")
    tab_to(page, r"Fatima Haddad")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/coach/patients/" in page.url
    tab_to(page, r"Add items")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Add")


def test_admin_opens_the_clinics_with_the_keyboard(page, live_server):
    keyboard_log_in(page, live_server, "admin@example.com")
    tab_to(page, r"^Clinics")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/admin/clinics")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinics")


@pytest.mark.parametrize("width", [360, 1280])
def test_a_focused_row_of_the_picker_is_never_under_the_add_bar(browser, live_server, width):
    """WCAG 2.2 "focus not obscured": tabbing down the library list keeps each row above the sticky bar."""
    context = browser.new_context(viewport={"width": width, "height": 740})
    page = context.new_page()
    try:
        keyboard_log_in(page, live_server, "coach@example.com")
        page.goto(f"{live_server}/coach/")
        page.locator("table.roster tbody a").first.click()
        page.get_by_role("link", name=re.compile("Add items")).first.click()
        page.wait_for_load_state("load")
        bar = page.locator("[data-sticky-footer]")
        expect(bar).to_be_visible()
        checked = 0
        for _ in range(60):
            page.keyboard.press("Tab")
            box = page.evaluate(
                "() => { const e = document.activeElement; if (!e || e.type !== 'checkbox') return null;"
                " const r = e.getBoundingClientRect();"
                " const bar = document.querySelector('[data-sticky-footer]').getBoundingClientRect();"
                " return [r.bottom, bar.top]; }"
            )
            if box is None:
                continue
            checked += 1
            page.wait_for_function(
                "() => { const r = document.activeElement.getBoundingClientRect();"
                " return r.bottom <= document.querySelector('[data-sticky-footer]').getBoundingClientRect().top; }",
                timeout=2_000,
            )
        assert checked >= 20
    finally:
        context.close()


def test_skip_link_on_the_guided_session_moves_focus_without_reloading(page, live_server):
    keyboard_log_in(page, live_server, "patient2@example.com")
    response = page.goto(f"{live_server}/me/today/session")
    assert response.status == 200
    page.wait_for_load_state("load")
    page.evaluate("window.__stillHere = true")
    page.keyboard.press("Tab")
    assert "Skip to content" in page.evaluate("document.activeElement.innerText")
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__stillHere === true"), "the skip link reloaded the page"
    assert page.evaluate("document.activeElement.id") == "main"


def test_escape_closes_the_phone_menu(mobile_page, live_server):
    page = mobile_page
    keyboard_log_in(page, live_server, "patient5@example.com")
    tab_to(page, r"Show menu")
    page.keyboard.press("Enter")
    menu = page.locator("#main-nav")
    expect(menu).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    page.keyboard.press("Escape")
    expect(menu).not_to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    assert page.evaluate("document.activeElement.getAttribute('aria-controls')") == "main-nav"
