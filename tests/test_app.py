"""App skeleton: config, health check, error pages, static assets."""

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet

from config import ProductionConfig
from portal.app import create_app
from portal.crypto import new_vapid_key


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_503_when_database_unreachable(tmp_path):
    from config import TestingConfig

    bad = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = bad.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_production_refuses_default_secret(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "dev-only-not-secret")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def _production_settings(monkeypatch) -> None:
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 40)
    monkeypatch.setattr(ProductionConfig, "DATA_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setattr(ProductionConfig, "VAPID_PRIVATE_KEY", new_vapid_key())
    monkeypatch.setattr(ProductionConfig, "VAPID_SUBJECT", "mailto:it@clinic.example")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")


def test_production_accepts_real_secret(monkeypatch):
    _production_settings(monkeypatch)
    app = create_app(ProductionConfig)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] is False


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("VAPID_PRIVATE_KEY", "", "VAPID_PRIVATE_KEY"),
        ("VAPID_PRIVATE_KEY", "not-a-key", "VAPID_PRIVATE_KEY"),
        ("VAPID_SUBJECT", "", "VAPID_SUBJECT"),
        ("VAPID_SUBJECT", "it@clinic.example", "VAPID_SUBJECT"),
    ],
)
def test_production_needs_a_vapid_key_and_subject(monkeypatch, setting, value, message):
    _production_settings(monkeypatch)
    monkeypatch.setattr(ProductionConfig, setting, value)
    with pytest.raises(RuntimeError, match=message):
        create_app(ProductionConfig)


def test_404_page_in_portal_style(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "Skip to content" in html


def test_405_page(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "not allowed" in response.get_data(as_text=True)


def test_413_for_huge_body(client):
    response = client.post("/login", data={"email": "a@b.c", "password": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_400_for_missing_csrf(client, patient):
    response = client.post("/login", data={"email": patient.email, "password": "whatever-long-pass"})
    assert response.status_code == 400


def test_bootstrap_served_locally(client):
    html = client.get("/login").get_data(as_text=True)
    assert "/static/vendor/bootstrap.min.css" in html
    # No asset from another host (a random CSRF token may well contain the letters "cdn").
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert client.get("/static/vendor/bootstrap.min.css").status_code == 200


def test_footer_lists_clinics_and_medical_note(client, clinic):
    html = client.get("/login").get_data(as_text=True)
    assert clinic.phone in html
    assert "not a substitute for medical advice" in html


def test_500_page_is_friendly(database_url):
    from config import TestingConfig

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, PROPAGATE_EXCEPTIONS=False)

    @app.route("/__boom")
    def boom():
        raise ZeroDivisionError

    response = app.test_client().get("/__boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)


def test_page_language_follows_the_browser_and_falls_back_to_english(client):
    spanish = client.get("/login", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert '<html lang="es">' in spanish.get_data(as_text=True)
    unknown = client.get("/login", headers={"Accept-Language": "xx-YY"})
    assert '<html lang="en">' in unknown.get_data(as_text=True)


def test_the_footer_shows_a_clinic_changed_by_any_path_on_the_next_page(client, clinic):
    from sqlalchemy import insert, update

    from portal.auth.models import Clinic
    from portal.extensions import db

    assert "Arlington" in client.get("/login").get_data(as_text=True)  # the footer's clinics are now kept
    db.session.execute(update(Clinic).where(Clinic.id == clinic.id).values(city="Grand Prairie"))
    db.session.commit()
    assert "Grand Prairie" in client.get("/login").get_data(as_text=True)
    with db.engine.begin() as connection:
        connection.execute(
            insert(Clinic).values(
                name="Holistiq Plano", city="Plano", phone="(972) 555-0100", timezone="America/Chicago"
            )
        )
    assert "Plano" in client.get("/login").get_data(as_text=True)
