"""HTTP security headers, cookies, caching and proxy handling (portal/security.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import request

from config import TestingConfig
from portal.app import create_app
from portal.crypto import new_vapid_key
from portal.security import CONTENT_SECURITY_POLICY

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def _csp(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value.strip()
    return directives


def test_strict_content_security_policy(client):
    csp = _csp(client.get("/login"))
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["base-uri"] == "'self'"
    assert csp["form-action"] == "'self'"
    assert set(csp["img-src"].split()) == {"'self'", "data:"}  # data: for the two-step QR code
    joined = " ".join(csp.values())
    assert "unsafe-inline" not in joined and "unsafe-eval" not in joined and "*" not in joined


def test_framing_sniffing_referrer_and_permissions(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in permissions


def test_headers_on_error_pages_too(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_hsts_outside_production(client):
    assert "Strict-Transport-Security" not in client.get("/login", base_url="https://localhost").headers


def _production_like_app(**overrides):
    # ProductionConfig reads its secrets at import; the settings that matter here are the same.
    return create_app(
        TestingConfig,
        ENV_NAME="production",
        SESSION_COOKIE_SECURE=True,
        REMEMBER_COOKIE_SECURE=True,
        FORCE_HTTPS=True,
        SQLALCHEMY_DATABASE_URI="sqlite://",
        VAPID_PRIVATE_KEY=new_vapid_key(),
        **overrides,
    )


def test_production_sends_hsts_forces_https_and_secure_cookies():
    app = _production_like_app()
    client = app.test_client()
    plain = client.get("/login", base_url="http://portal.example")
    assert plain.status_code in (301, 302)
    assert plain.headers["Location"].startswith("https://")
    secure = client.get("/login", base_url="https://portal.example")
    hsts = secure.headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts
    cookie = secure.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_httponly_and_samesite(client, patient):
    from tests.conftest import login

    cookie = login(client, patient).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signed_in_pages_are_never_cached(patient_client, coach_client, admin_client):
    for client, path in ((patient_client, "/account"), (coach_client, "/account"), (admin_client, "/admin/accounts")):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"


def test_form_posts_are_never_cached(client):
    response = client.post("/login", data={})
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(patient_client):
    response = patient_client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def _ip_app(hops: int):
    app = create_app(TestingConfig, TRUST_PROXY_HOPS=hops, SQLALCHEMY_DATABASE_URI="sqlite://")
    app.add_url_rule("/_test/ip", "test_ip", lambda: f"{request.remote_addr} {request.scheme}")
    return app.test_client()


def test_forwarded_headers_ignored_without_a_configured_proxy():
    response = _ip_app(0).get("/_test/ip", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert response.get_data(as_text=True) == "127.0.0.1 http"


def test_forwarded_headers_honoured_behind_a_configured_proxy():
    response = _ip_app(1).get("/_test/ip", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert response.get_data(as_text=True) == "203.0.113.9 https"


def test_policy_constant_matches_what_is_sent(client):
    sent = _csp(client.get("/login"))
    for directive in CONTENT_SECURITY_POLICY:
        assert directive in sent


# --- templates: nothing the CSP would block -----------------------------------------

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
_STYLE_TAG = re.compile(r"<style\b", re.IGNORECASE)
_STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
_EVENT_ATTR = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)
_JS_URL = re.compile(r"href\s*=\s*[\"']\s*javascript:", re.IGNORECASE)


def _template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script_or_style(path):
    text = path.read_text(encoding="utf-8")
    for name, pattern in (
        ("inline <script>", _INLINE_SCRIPT),
        ("<style> element", _STYLE_TAG),
        ("style= attribute", _STYLE_ATTR),
        ("on*= event handler", _EVENT_ATTR),
        ("javascript: link", _JS_URL),
    ):
        match = pattern.search(text)
        assert match is None, f"{path.name}: {name} near {text[max(match.start() - 40, 0) : match.end() + 40]!r}"


def test_the_scanner_catches_what_it_should():
    assert _INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not _INLINE_SCRIPT.search('<script src="/static/js/app.js"></script>')
    assert _STYLE_ATTR.search('<div style="color:red">')
    assert _EVENT_ATTR.search('<button onclick="x()">')
    assert _STYLE_TAG.search("<style>p{}</style>")
