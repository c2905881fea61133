"""The Today page's done / not-done control."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField
from wtforms.validators import AnyOf

from portal.forms import PortalForm


class MarkDoneForm(PortalForm):
    """One button per item: done=1 marks it done, done=0 undoes it (CSRF-protected POST)."""

    done = HiddenField(validators=[AnyOf(["0", "1"], message=_l("Choose done or not done."))])
