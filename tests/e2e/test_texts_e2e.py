"""Text me reminders at 360 px: the code texted to the fake provider is typed in, texts turn on, a test text
arrives, texts turn off — plain forms, no JavaScript needed."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from portal import outbox
from portal.auth.models import User
from portal.extensions import db
from tests.e2e.conftest import log_in, submit
from tests.sms_server import SENDER, SID, TOKEN, start_fake_provider

pytestmark = pytest.mark.e2e

EMAIL = "patient@example.com"


def _wait_for(provider, count: int, app) -> None:
    deadline = time.monotonic() + 10
    while len(provider.messages()) < count and time.monotonic() < deadline:
        with app.app_context():
            outbox.deliver_due()  # the worker's round, in case the after-response send has not run yet
            db.session.remove()
        time.sleep(0.1)
    assert len(provider.messages()) == count, provider.received


def test_text_me_reminders_on_a_phone(mobile_page, live_server):
    app = live_server.app
    provider = start_fake_provider()
    saved = {k: app.config.get(k) for k in ("SMS_API_URL", "SMS_ACCOUNT_SID", "SMS_AUTH_TOKEN", "SMS_FROM")}
    app.config.update(SMS_API_URL=provider.url, SMS_ACCOUNT_SID=SID, SMS_AUTH_TOKEN=TOKEN, SMS_FROM=SENDER)
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == EMAIL))
        old_phone, user.phone = user.phone, "(214) 555-0177"
        db.session.commit()
        db.session.remove()
    try:
        log_in(mobile_page, live_server, EMAIL)
        mobile_page.goto(f"{live_server}/account")
        expect(mobile_page.get_by_role("heading", name="Reminders")).to_be_visible()
        submit(mobile_page, mobile_page.get_by_role("button", name="Text me reminders"))
        expect(mobile_page.get_by_text("We sent a code to your phone.")).to_be_visible()
        _wait_for(provider, 1, app)
        assert provider.messages()[0].form["To"] == "+12145550177"
        code = re.search(r"\b(\d{6})\b", provider.bodies()[0]).group(1)

        mobile_page.get_by_label("Code from the text").fill(code)
        submit(mobile_page, mobile_page.get_by_role("button", name="Verify"))
        expect(mobile_page.get_by_text("Text reminders are on.", exact=True)).to_be_visible()
        assert mobile_page.evaluate("document.documentElement.scrollWidth") <= 360

        submit(mobile_page, mobile_page.get_by_role("button", name="Send a test text"))
        _wait_for(provider, 2, app)
        assert "test text" in provider.bodies()[1]

        submit(mobile_page, mobile_page.get_by_role("button", name="Turn off texts"))
        expect(mobile_page.get_by_text("Text reminders are off.", exact=True)).to_be_visible()
        expect(mobile_page.get_by_role("button", name="Text me reminders")).to_be_visible()
    finally:
        app.config.update(saved)
        provider.server.shutdown()
        provider.server.server_close()
        with app.app_context():
            user = db.session.scalar(db.select(User).where(User.email == EMAIL))
            user.phone = old_phone
            db.session.commit()
            db.session.remove()
