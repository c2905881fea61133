"""Browser tests: the portal served on a real port, driven by Playwright in Chromium.

`live_server` serves a fresh database (migrated and seeded with `flask seed-demo`)
from a background thread; `page` and `mobile_page` are Playwright pages at
1280 px and 360 px wide. Chromium is Debian's (/usr/bin/chromium): `make test`
installs it when missing.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from werkzeug.serving import make_server

from config import TestingConfig
from portal.app import create_app
from portal.auth.accounts import create_account
from portal.auth.models import Role, email_lookup
from portal.extensions import db
from tests.conftest import give_test_consent
from tests.dbutil import create_postgres_database, drop_postgres_database, is_postgres

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DEMO_PASSWORD = TestingConfig.DEMO_PASSWORD
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.e2e


@dataclass
class LiveServer:
    url: str
    app: Flask

    def __str__(self) -> str:  # so f"{live_server}/login" works
        return self.url

    def __add__(self, path: str) -> str:
        return self.url + path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    base = TestingConfig.SQLALCHEMY_DATABASE_URI
    if is_postgres(base):
        url = create_postgres_database(base, prefix="holistiq_e2e")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'live.sqlite3'}"
    port = _free_port()
    # Links in emails point at PUBLIC_BASE_URL, never at the request's host: here, this server.
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=url,
        WTF_CSRF_SSL_STRICT=False,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
    )
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{port}", app)
    server.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if is_postgres(base):
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}; run `make browser` (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield browser
        browser.close()


def _new_page(browser, width: int, height: int, request):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = console_errors  # type: ignore[attr-defined]
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def page(browser, request):
    yield from _new_page(browser, 1280, 900, request)


@pytest.fixture
def mobile_page(browser, request):
    yield from _new_page(browser, 360, 740, request)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def log_in(page, live_server: LiveServer | str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form like a person would, and wait for the home page."""
    base = str(live_server)
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    submit(page, page.get_by_role("button", name="Log in"))
    if page.url.split("?")[0].endswith("/login/two-factor"):
        # Demo staff are enrolled in two-step sign-in with the published demo secret.
        page.get_by_label("Code").fill(demo_totp_code(live_server, email))
        submit(page, page.get_by_role("button", name="Continue"))


def submit(page, button, *, timeout: float = 30_000) -> None:
    """Click a button that posts a form, and wait until the page that answers it has loaded.

    Waiting for a load state after the click is not enough: the page that was already
    there counts as loaded, so the next step can run (and a `goto` can cancel the post)
    before the browser has even sent the form. The wait covers the click's own wait for
    the button plus the server's answer, so it is longer than one action's timeout.
    """
    try:
        with page.expect_navigation(wait_until="domcontentloaded", timeout=timeout):
            button.click()
    except PlaywrightTimeoutError as error:
        menu = page.locator("#main-nav")
        menu_state = menu.get_attribute("class") if menu.count() else "no menu"
        raise AssertionError(
            f"no new page within {timeout / 1000:.0f} s of clicking {button}; still on {page.url}, "
            f"button visible: {button.is_visible()}, menu: {menu_state}"
        ) from error


def open_menu(page) -> None:
    """Unfold the main menu when it is folded behind the menu button (phone widths).

    Returns once Bootstrap has finished opening it: during the height transition the
    items are clipped, and a click aimed at one can land on the page beneath.
    """
    # After a form post the page may still be replacing itself: decide on the menu button
    # only once it has loaded, or a phone-width check can see the old page's button.
    page.wait_for_load_state("load")
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
        expect(page.locator("#main-nav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))


def demo_totp_code(live_server: LiveServer | str, email: str) -> str:
    """The current code of a demo staff account.

    A code works once, and tests sign the same account in many times within 30
    seconds, so the in-process server's used-code marker is cleared first.
    """
    import time

    import pyotp

    from portal.auth.models import User
    from portal.demo import DEMO_TOTP_SECRET

    if isinstance(live_server, LiveServer):
        with live_server.app.app_context():
            db.session.execute(db.update(User).where(User.email == email.lower()).values(totp_last_step=None))
            db.session.commit()
    else:  # no handle on the server: wait for the next 30-second code
        time.sleep(30 - time.time() % 30 + 0.5)
    return pyotp.TOTP(DEMO_TOTP_SECRET).now()


def log_out(page) -> None:
    open_menu(page)
    submit(page, page.get_by_role("button", name="Log out"))


def new_consented_patient(name: str, email: str, coach_email: str = "coach@example.com"):
    """A new patient of a demo coach, in the coach's clinic, who has agreed to the consent texts (the patient
    pages wait for consent). Call inside the live server's app context; the account is committed."""
    coach = db.session.scalar(email_lookup(coach_email))
    patient = create_account(
        email=email,
        name=name,
        role=Role.PATIENT,
        clinic_id=coach.clinic_id,
        coach_id=coach.id,
        password=DEMO_PASSWORD,
    )
    give_test_consent(patient)
    db.session.commit()
    return patient
