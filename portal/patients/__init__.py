from flask import Blueprint

bp = Blueprint("patients", __name__)

from portal.patients import calendar_views, checkin_views, progress_views, views  # noqa: E402,F401  - registers the routes on bp
