"""Templates build URLs with Flask's own url_for: right under a mount point, outside a request, and
with url_defaults.

(A per-process cache of the URLs without values saved about 5 µs a call, some 0.1 ms of a 15 ms
page, and would have served wrong URLs once a url_defaults function was added: it was removed.)"""

from __future__ import annotations

from flask import render_template_string

from config import TestingConfig
from portal.app import create_app
from portal.extensions import db


def test_urls_follow_the_mount_point(app):
    template = "{{ url_for('auth.account') }} {{ url_for('static', filename='css/app.css') }} {{ url_for('exercises.detail', item_id=7) }}"
    with app.test_request_context("/"):
        first = render_template_string(template)
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/portal"}):
        mounted = render_template_string(template)
    assert first == "/account /static/css/app.css /library/7"
    assert mounted == "/portal/account /portal/static/css/app.css /portal/library/7"


def test_outside_a_request_it_builds_urls_as_flask_does(app):
    """An email rendered by a command (no request) must not need one."""
    with app.app_context():
        assert render_template_string("{{ url_for('auth.account', _external=True) }}").endswith("/account")
        assert render_template_string("{{ url_for('auth.account') }}").endswith("/account")


def test_url_defaults_apply_to_every_template_url(database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)

    @app.url_defaults
    def add_campaign(endpoint, values):
        if endpoint == "auth.account":
            values.setdefault("ref", "menu")

    try:
        with app.test_request_context("/"):
            assert render_template_string("{{ url_for('auth.account') }}") == "/account?ref=menu"
    finally:
        with app.app_context():
            db.engine.dispose()
