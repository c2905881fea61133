"""Browser: the portal in Spanish (browser language, Sofia's account, the language setting, a coach reading her check-ins)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.auth.models import email_lookup
from portal.extensions import db
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

SOFIA = "patient7@example.com"  # Sofia Ramirez reads Spanish (coach Priya Raman)
SOFIA_COACH = "coach2@example.com"
SWITCHING_PATIENT = "patient9@example.com"  # Fatima Haddad, English until she switches


def _user(live_server, email: str):
    with live_server.app.app_context():
        user = db.session.scalar(email_lookup(email))
        db.session.expunge(user)
        return user


def _set_language(live_server, email: str, language: str) -> None:
    with live_server.app.app_context():
        db.session.scalar(email_lookup(email)).language = language
        db.session.commit()


def test_spanish_browser_gets_a_spanish_login_page_with_a_link_to_english(live_server, browser):
    context = browser.new_context(locale="es-US", extra_http_headers={"Accept-Language": "es-US,es;q=0.9"})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login")
        assert page.locator("html").get_attribute("lang") == "es"
        expect(page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")
        expect(page.get_by_label("Correo electrónico")).to_be_visible()
        page.get_by_role("link", name="English", exact=True).click()
        assert page.locator("html").get_attribute("lang") == "en"
        expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
        expect(page.get_by_role("link", name="Español", exact=True)).to_be_visible()
    finally:
        context.close()


def test_sofia_reads_today_and_the_safety_questions_in_spanish(live_server, mobile_page):
    page = mobile_page
    log_in(page, live_server, SOFIA)
    assert page.locator("html").get_attribute("lang") == "es"
    expect(page.get_by_role("heading", level=1)).to_have_text("Hoy")
    page.goto(f"{live_server}/me/checkin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Registro diario")
    expect(page.get_by_text("Preguntas de seguridad")).to_be_visible()
    question = page.locator("fieldset.red-flag-question", has_text="¿Dificultad para caminar o estar de pie?")
    expect(question).to_be_visible()
    expect(page.locator("#red-flag-hint")).to_be_hidden()
    question.get_by_label("Sí").check()
    hint = page.locator("#red-flag-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("Llame hoy a su clínica")
    expect(hint).to_contain_text("llame al 911 si empeora")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.console_errors == []


def test_patient_switches_language_on_the_account_page_and_the_next_page_follows(live_server, page):
    _set_language(live_server, SWITCHING_PATIENT, "en")
    try:
        log_in(page, live_server, SWITCHING_PATIENT)
        page.goto(f"{live_server}/account")
        page.get_by_role("combobox", name="Language").select_option("es")
        page.get_by_role("button", name="Save language").click()
        expect(page.get_by_text("Se guardó su idioma.")).to_be_visible()
        assert page.locator("html").get_attribute("lang") == "es"
        page.goto(f"{live_server}/me/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Hoy")
        assert _user(live_server, SWITCHING_PATIENT).language == "es"
    finally:
        _set_language(live_server, SWITCHING_PATIENT, "en")


def test_coach_reads_sofias_check_ins_in_the_coachs_language(live_server, page):
    sofia = _user(live_server, SOFIA)
    log_in(page, live_server, SOFIA_COACH)
    page.goto(f"{live_server}/coach/patients/{sofia.id}")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator('[data-language="es"]')).to_have_text("Español")
    expect(page.get_by_role("heading", name="Recent check-ins")).to_be_visible()
    page.goto(f"{live_server}/coach/patients/{sofia.id}/checkins")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check-ins of Sofia Ramirez")
    assert page.locator("html").get_attribute("lang") == "en"
