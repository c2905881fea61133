"""Every main page fits a 360 px phone: nothing widens the page beyond the screen."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

PAGES = {
    "patient@example.com": ["/me/", "/me/checkin", "/me/plan", "/me/progress", "/messages/", "/library/", "/account"],
    "coach@example.com": ["/coach/", "/coach/?sort=attention", "/coach/alerts", "/coach/programs", "/messages/inbox"],
    "admin@example.com": ["/admin/accounts", "/admin/clinics", "/admin/audit"],
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
