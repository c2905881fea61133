"""'Your sessions' in a real browser: sign in on a phone and a laptop, end the phone's session from the laptop."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in, submit

pytestmark = pytest.mark.e2e

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
EMAIL = "patient8@example.com"  # an English reader; this test ends only the session it made on the "phone"


def test_end_another_session_from_your_sessions(browser, live_server):
    phone_context = browser.new_context(viewport={"width": 360, "height": 740}, user_agent=PHONE_UA)
    laptop_context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        phone, laptop = phone_context.new_page(), laptop_context.new_page()
        errors: list[str] = []
        laptop.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        log_in(phone, live_server, EMAIL)
        log_in(laptop, live_server, EMAIL)
        laptop.goto(f"{live_server}/account")
        sessions = laptop.get_by_role("region", name="Your sessions")
        expect(sessions.get_by_role("heading", name="Your sessions")).to_be_visible()
        expect(sessions.get_by_text("This device")).to_have_count(1)
        phone_entry = sessions.get_by_role("listitem").filter(has_text="iOS")
        expect(phone_entry).to_have_count(1)
        submit(laptop, phone_entry.get_by_role("button", name="End session"))
        expect(laptop.get_by_text("That session has ended.")).to_be_visible()
        remaining = laptop.get_by_role("region", name="Your sessions").get_by_role("listitem")
        expect(remaining.filter(has_text="iOS")).to_have_count(0)
        expect(remaining.filter(has_text="This device")).to_have_count(1)

        phone.goto(f"{live_server}/me/")
        assert phone.url.split("?")[0].endswith("/login")
        laptop.goto(f"{live_server}/me/")
        assert laptop.url.endswith("/me/")
        assert not errors
    finally:
        phone_context.close()
        laptop_context.close()
