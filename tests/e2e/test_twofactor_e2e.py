"""Two-step sign-in in a real browser: a new coach enrols at first sign-in (QR code under the
strict CSP, at phone width), then signs in with a code; a wrong code is explained."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from portal.auth.accounts import create_account
from portal.auth.models import Role, User, email_lookup
from portal.extensions import db
from tests.e2e.conftest import DEMO_PASSWORD, log_out, submit

pytestmark = pytest.mark.e2e

EMAIL = "new.coach.e2e@example.org"


def _password_step(page, live_server, email: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    submit(page, page.get_by_role("button", name="Log in"))


def test_new_coach_enrols_then_signs_in_with_a_code(mobile_page, live_server):
    page = mobile_page
    with live_server.app.app_context():
        if db.session.scalar(email_lookup(EMAIL)) is None:
            user = create_account(email=EMAIL, name="Nadia Enrol", role=Role.COACH)
            from portal.auth.passwords import hash_password

            user.password_hash = hash_password(DEMO_PASSWORD)
            db.session.commit()

    _password_step(page, live_server, EMAIL)
    # Staff are held on the enrolment page until they set up an authenticator.
    assert page.url.endswith("/account/two-factor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step sign-in")
    qr = page.get_by_alt_text("QR code to add Holistiq Coach to your authenticator app")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # the data: image loads under the CSP
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.goto(f"{live_server}/coach/")
    assert page.url.endswith("/account/two-factor")

    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    page.console_errors.clear()  # the refused code was answered with a 400, as it should be

    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved my codes").click()
    expect(page).to_have_url(re.compile(r"/coach/$"))

    log_out(page)
    _password_step(page, live_server, EMAIL)
    assert page.url.endswith("/login/two-factor")
    # The code used at enrolment cannot be used again: take the next one (one step of drift is allowed).
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    submit(page, page.get_by_role("button", name="Continue"))
    assert page.url.endswith("/coach/")
    assert not page.console_errors

    with live_server.app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == EMAIL))
        assert user.totp_enabled
