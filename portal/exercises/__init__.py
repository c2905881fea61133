from flask import Blueprint

bp = Blueprint("exercises", __name__)

from portal.exercises import views  # noqa: E402,F401  - registers the routes on bp
