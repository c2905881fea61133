"""The coaching blueprint; its routes live in roster_views, plan_views, program_views and alert_views."""

from flask import Blueprint

from portal.auth.access import coach_required

bp = Blueprint("coaching", __name__)


@bp.before_request
@coach_required
def require_coach():
    """Every coach page is for coaches (403 for other roles); patients are checked per object."""
    return None
