"""The Outcomes blueprint; its routes live in the view modules listed in portal/outcomes/wiring.py (VIEW_MODULES)."""

from flask import Blueprint

from portal.auth.access import staff_required

bp = Blueprint("outcomes", __name__)


@bp.before_request
@staff_required
def require_staff():
    """Outcomes are for coaches and admins (403 for patients); a coach's figures are their own patients'."""
    return None
