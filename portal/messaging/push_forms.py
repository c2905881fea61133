"""The forms of the account page's phone notifications (each a plain form with its own CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SubmitField

from portal.forms import PortalForm


class PushTestForm(PortalForm):
    submit = SubmitField(_l("Send a test notification"))


class PushOffForm(PortalForm):
    submit = SubmitField(_l("Turn off"))


class PushPreferencesForm(PortalForm):
    push_messages = BooleanField(_l("New messages"))
    push_alerts = BooleanField(_l("Emergency and Urgent alerts of my patients"))
    submit = SubmitField(_l("Save notification choices"))
