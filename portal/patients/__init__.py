from flask import Blueprint

bp = Blueprint("patients", __name__)

from portal.patients import views  # noqa: E402,F401  - registers the routes on bp
