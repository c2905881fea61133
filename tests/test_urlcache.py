"""Templates' url_for keeps the URLs every page repeats, and stays correct everywhere else."""

from __future__ import annotations

from flask import render_template_string


def test_fixed_urls_are_kept_and_the_others_built_each_time(app):
    template = "{{ url_for('auth.account') }} {{ url_for('static', filename='css/app.css') }} {{ url_for('exercises.detail', item_id=7) }}"
    with app.test_request_context("/"):
        first = render_template_string(template)
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/portal"}):
        mounted = render_template_string(template)
    assert first == "/account /static/css/app.css /library/7"
    assert mounted == "/portal/account /portal/static/css/app.css /portal/library/7"  # keyed by the mount point


def test_outside_a_request_it_builds_urls_as_flask_does(app):
    """An email rendered by a command (no request) must not need one."""
    with app.app_context():
        assert render_template_string("{{ url_for('auth.account', _external=True) }}").endswith("/account")
        assert render_template_string("{{ url_for('auth.account') }}").endswith("/account")
