"""The portal as the benchmark serves it: the production app plus one bench-only page.

The minimal signed-in page renders the base template for the signed-in user and nothing
else: what every page pays before its own work (the session check, the user, the
navigation badges, the layout, the security headers). It lives here, not in ``portal/``,
so a production server never has it. Served by gunicorn as ``bench.portal_app:app``.
"""

from flask import render_template
from flask_login import login_required

from bench.pages import MINIMAL_PATH
from wsgi import app

# Compiled once, as the portal's own templates are; the title is the account page's, already translated.
_MINIMAL = app.jinja_env.from_string('{% extends "base.html" %}{% block title %}{{ _("Your account") }}{% endblock %}')


@login_required
def minimal_page():
    return render_template(_MINIMAL)


app.add_url_rule(MINIMAL_PATH, "bench_minimal", minimal_page)
