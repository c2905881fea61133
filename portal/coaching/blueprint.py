"""The coaching blueprint; its routes live in the view modules listed in portal/coaching/wiring.py (VIEW_MODULES)."""

from flask import Blueprint

from portal.auth.access import coach_required

bp = Blueprint("coaching", __name__)


@bp.before_request
@coach_required
def require_coach():
    """Every coach page is for coaches (403 for other roles); patients are checked per object."""
    return None
