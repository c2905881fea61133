"""Every main page fits a 360 px phone: nothing widens the page beyond the screen."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

PAGES = {
    "patient@example.com": ["/me/", "/me/checkin", "/me/plan", "/me/progress", "/messages/", "/library/", "/account"],
    "coach@example.com": [
        "/coach/",
        "/coach/?sort=attention",
        "/coach/alerts",
        "/coach/programs",
        "/messages/inbox",
        "/outcomes/",
    ],
    "admin@example.com": [
        "/outcomes/",
        "/outcomes/?compare=coach",
        "/admin/accounts",
        "/admin/clinics",
        "/admin/audit",
    ],
}


@pytest.mark.parametrize("email", list(PAGES))
def test_pages_fit_a_phone(mobile_page, live_server, email):
    log_in(mobile_page, live_server, email)
    too_wide = {}
    for path in PAGES[email]:
        response = mobile_page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        width = mobile_page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            too_wide[path] = width
    assert too_wide == {}


def test_coach_patient_page_fits_a_phone(mobile_page, live_server):
    log_in(mobile_page, live_server, "coach@example.com")
    mobile_page.goto(f"{live_server}/coach/")
    mobile_page.locator("table.roster tbody a").first.click()
    mobile_page.wait_for_load_state()
    assert "/coach/patients/" in mobile_page.url
    assert mobile_page.evaluate("document.documentElement.scrollWidth") <= 360


CUT_OR_OVERLAPPING = """(selector) => {
  const boxes = [];
  const problems = [];
  for (const cell of document.querySelectorAll(selector)) {
    const r = cell.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;  // hidden (the other form of a heading)
    if (cell.scrollWidth > cell.clientWidth + 1) problems.push('cut: ' + cell.innerText);
    if (r.right > window.innerWidth + 0.5) problems.push('off screen: ' + cell.innerText);
    for (const other of boxes) {
      if (r.left < other.right - 0.5 && other.left < r.right - 0.5 && r.top < other.bottom - 0.5 && other.top < r.bottom - 0.5)
        problems.push('overlap: ' + cell.innerText);
    }
    boxes.push(r);
  }
  return problems;
}"""


def test_week_grid_and_item_adherence_fit_a_phone(mobile_page, live_server):
    """My plan's seven days and the progress page's per-item table: no heading cut, clipped or overlapping at 360 px."""
    log_in(mobile_page, live_server, "patient@example.com")
    mobile_page.goto(f"{live_server}/me/plan")
    assert mobile_page.evaluate(CUT_OR_OVERLAPPING, ".week-grid thead th abbr > span") == []
    assert mobile_page.evaluate(CUT_OR_OVERLAPPING, ".week-grid thead th") == []
    assert mobile_page.locator(".week-grid thead th").nth(7).is_visible()  # Sunday, the last day, is on screen
    mobile_page.goto(f"{live_server}/me/progress")
    assert mobile_page.evaluate(CUT_OR_OVERLAPPING, "table.table-stack tbody th, table.table-stack tbody td") == []
    # Each number still says what it is: the column's name goes with it on the phone.
    labels = mobile_page.evaluate(
        "[...document.querySelectorAll('table.table-stack tbody tr:first-child td')]"
        ".map((td) => getComputedStyle(td, '::before').content)"
    )
    assert labels == ['"Done: "', '"Scheduled: "', '"Adherence: "']
