from flask import Blueprint

bp = Blueprint("messaging", __name__)

from portal.messaging import views  # noqa: E402,F401  - registers the routes on bp
