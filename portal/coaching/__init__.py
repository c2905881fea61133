from flask import Blueprint

bp = Blueprint("coaching", __name__)

from portal.coaching import alert_views, views  # noqa: E402,F401  - registers the routes on bp
