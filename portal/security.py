"""HTTP security headers, proxy handling and caching rules."""

from __future__ import annotations

from flask import Flask, current_app, g, request, session
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

# No inline scripts or styles anywhere: every script and stylesheet is a static file.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# Every response under this path is the JSON API's (or its description).
API_PATH_PREFIX = "/api/"

PERMISSIONS_POLICY = {
    "camera": "()",
    "microphone": "()",
    "geolocation": "()",
    "payment": "()",
    "usb": "()",
    "interest-cohort": "()",
}


def register_security(app: Flask) -> None:
    production = app.config.get("ENV_NAME") == "production"
    # One Talisman per app: it keeps its options on itself.
    Talisman(
        app,
        force_https=app.config.get("FORCE_HTTPS", False),
        strict_transport_security=production,
        strict_transport_security_max_age=31536000,
        strict_transport_security_include_subdomains=True,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
        permissions_policy=PERMISSIONS_POLICY,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        x_content_type_options=True,
    )
    hops = app.config.get("TRUST_PROXY_HOPS", 0)
    if hops:
        # Honour X-Forwarded-* only when a proxy in front of us is configured.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    @app.after_request
    def no_store_for_private_pages(response):
        """Pages of signed-in users hold health data: never cache them."""
        # A response the view marked immutable is keyed by a content hash and holds no personal
        # data (the library drawings): the browser may keep it.
        immutable = response.cache_control.immutable and request.method == "GET"
        # API answers carry health data under a bearer token, which _signed_in() does not see: never cached.
        api = request.path.startswith(API_PATH_PREFIX)
        if api or (request.endpoint != "static" and not immutable and (_signed_in() or request.method != "GET")):
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


def _signed_in() -> bool:
    """Whether the request belongs to a signed-in session, without touching the database.

    ``current_user.is_authenticated`` reads ``User.is_active``; after a view commits, that
    attribute is expired and reading it costs one more SELECT per request. Flask-Login
    keeps ``_user_id`` in the session for every signed-in user (and puts it back when it
    restores a user from a remember cookie), so its presence is enough to mark the page
    private; a user already loaded this request counts too.
    """
    if "_user_id" in session:
        return True
    user = g.get("_login_user")
    return user is not None and user.is_authenticated


def large_upload(limit: int):
    """Mark a view that accepts a request body up to ``limit`` bytes (file uploads); every other
    route keeps the small MAX_CONTENT_LENGTH."""

    def mark(view):
        view.max_content_length = limit
        return view

    return mark


def apply_upload_limit() -> None:
    """Raise this request's body limit when its view accepts uploads (runs before CSRF reads the form)."""
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "max_content_length", None)
    if limit:
        request.max_content_length = limit
