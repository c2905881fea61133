"""Account journeys in a real browser: each role's home, admin creates a patient, bad password, log out,
admin deactivates an account after its confirmation page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.auth.accounts import create_account
from portal.auth.models import Clinic, User, email_lookup
from portal.extensions import db
from portal.mail import OutboundEmail
from tests.e2e.conftest import log_in, log_out, submit

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "email,home_path,heading",
    [
        ("patient@example.com", "/me/", "Today"),
        ("coach@example.com", "/coach/", None),
        ("admin@example.com", "/outcomes/", "Outcomes"),
    ],
)
def test_each_demo_role_lands_on_its_home(page, live_server, email, home_path, heading):
    log_in(page, live_server, email)
    endpoint_exists = {"/me/": "patients.today", "/coach/": "coaching.roster", "/outcomes/": "outcomes.page"}[home_path]
    if endpoint_exists in live_server.app.view_functions:
        assert page.url.endswith(home_path)
        if heading:
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_role("button", name="Log out")).to_be_attached()
    assert not page.console_errors


def test_wrong_password_shows_the_one_message(page, live_server):
    log_in(page, live_server, "patient@example.com", "not-the-password-123")
    expect(page.get_by_text("Invalid email or password.")).to_be_visible()
    assert page.url.endswith("/login")


def test_patient_cannot_reach_admin(page, live_server):
    log_in(page, live_server, "patient2@example.com")
    response = page.goto(f"{live_server}/admin/accounts")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not available to your account")


def test_admin_creates_patient_who_then_logs_in(page, live_server, browser):
    log_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server}/admin/accounts")  # the admin's home is Outcomes
    page.get_by_role("link", name="New account").click()
    page.get_by_label("Full name").fill("Grace Browser")
    page.get_by_label("Email").fill("grace.browser@example.org")
    page.get_by_label("Role").select_option("patient")
    page.get_by_label("Clinic").select_option(label="Holistiq Spine & Ortho Irving")
    page.get_by_label("Coach (patients only)").select_option(label="Marcus Bell")
    page.get_by_label("Phone").fill("972 555 0161")
    page.get_by_role("button", name="Save account").click()
    expect(page.get_by_text("Account created for Grace Browser")).to_be_visible()

    with live_server.app.app_context():
        mail = db.session.scalars(
            db.select(OutboundEmail).where(OutboundEmail.to_address == "grace.browser@example.org")
        ).one()
        link = re.search(r"http://\S+/invitation\?token=\S+", mail.body).group(0)

    patient_context = browser.new_context(viewport={"width": 360, "height": 740})
    patient_page = patient_context.new_page()
    patient_page.goto(link)
    patient_page.get_by_label("New password", exact=True).fill("maple-lantern-orbit-88")
    patient_page.get_by_label("Repeat the new password").fill("maple-lantern-orbit-88")
    patient_page.get_by_role("button", name="Save password").click()
    # The invitation ends signed in; a new patient agrees to the clinic's texts before anything else.
    expect(patient_page.get_by_text("Your password is set and you are signed in")).to_be_visible()
    assert patient_page.url.endswith("/me/consent")
    expect(patient_page.get_by_role("heading", level=1)).to_have_text("Before we start")
    expect(patient_page.locator("form[action='/logout']").first).to_be_attached()
    patient_page.get_by_label("I agree to the coaching agreement").check()
    patient_page.get_by_label("I have read the privacy notice").check()
    patient_page.get_by_role("button", name="Continue").click()
    # Then the portal opens (on the intake questionnaire once it is there, else on Today).
    expect(patient_page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^(Today|About your back)$"))
    patient_context.close()

    # The admin's actions are in the audit log, in words.
    page.goto(f"{live_server}/admin/audit?action=account.create")
    expect(page.locator("main").get_by_text("Created account").locator("visible=true").first).to_be_visible()


def test_log_out(mobile_page, live_server):
    log_in(mobile_page, live_server, "patient3@example.com")
    log_out(mobile_page)
    expect(mobile_page.get_by_text("You have logged out.")).to_be_visible()
    mobile_page.goto(f"{live_server}/account")
    assert "/login" in mobile_page.url


@pytest.mark.parametrize("width", [360, 1280])
def test_audit_log_reads_as_words_at_any_width(browser, live_server, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    log_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server}/admin/audit?action=login.success")
    entries = page.locator("li.audit-entry")
    expect(entries.first).to_contain_text("Signed in")
    expect(entries.first).to_contain_text(re.compile(r"\bC[SD]T\b"))  # Central time, the zone named
    expect(page.get_by_label("Action")).to_have_value("login.success")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # No letter-by-letter wrapping: the action and each label sit on one line, wider than a few letters.
    action_box = entries.first.locator(".audit-action").bounding_box()
    assert action_box["width"] > 50 and action_box["height"] < 40
    for label in entries.first.locator("dt").all():
        box = label.bounding_box()
        assert box["height"] < 40, label.inner_text()
    context.close()


def test_admin_deactivates_a_patient_after_reading_what_follows(page, live_server):
    with live_server.app.app_context():
        coach = db.session.scalar(email_lookup("coach@example.com"))
        clinic_id = db.session.scalar(db.select(Clinic.id).order_by(Clinic.id).limit(1))
        dora = create_account(
            email="dora.leaving@example.org",
            name="Dora Leaving",
            role="patient",
            clinic_id=clinic_id,
            coach_id=coach.id,
            phone="817 555 0177",
        )
        db.session.commit()
        dora_id = dora.id
    log_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server}/admin/accounts/{dora_id}")
    # No browser confirm() dialog: the button opens a page that says what follows.
    page.on("dialog", lambda dialog: pytest.fail(f"unexpected browser dialog: {dialog.message}"))
    page.get_by_role("link", name="Deactivate", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deactivate Dora Leaving?")
    expect(page.get_by_text("They have no active plan.")).to_be_visible()
    expect(page.get_by_text("No alert about them is open.")).to_be_visible()
    # The reason is asked for, beside its field.
    submit(page, page.get_by_role("button", name="Deactivate account"))
    reason = page.get_by_label("Reason")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Write why the account is deactivated; it is kept in the audit log.")).to_be_visible()
    reason.fill("Moved to another practice")
    submit(page, page.get_by_role("button", name="Deactivate account"))
    expect(page.get_by_text("Dora Leaving is deactivated and signed out everywhere.")).to_be_visible()
    expect(page.get_by_role("button", name="Reactivate")).to_be_visible()
    with live_server.app.app_context():
        assert db.session.get(User, dora_id).is_active is False
    # The one console line is the browser noting the refused form's 400.
    assert [error for error in page.console_errors if "status of 400" not in error] == []
