"""The Today page's done / not-done control, and the guided session's "Done"."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField
from wtforms.validators import AnyOf, Optional
from wtforms.widgets import HiddenInput

from portal.forms import PortalForm


class MarkDoneForm(PortalForm):
    """One button per item: done=1 marks it done, done=0 undoes it (CSRF-protected POST)."""

    done = HiddenField(validators=[AnyOf(["0", "1"], message=_l("Choose done or not done."))])


class SessionDoneForm(MarkDoneForm):
    """The guided session's "Done": also names the plan item the step showed, so the movement the
    patient did is the one marked even if the steps changed since (one paused: refused, 409)."""

    item = IntegerField(widget=HiddenInput(), validators=[Optional()])


class DismissChangesForm(PortalForm):
    """Just the CSRF token: closing "What changed in your plan" on Today."""


class DismissForm(PortalForm):
    """Just the CSRF token: dismissing a notice on Today."""
