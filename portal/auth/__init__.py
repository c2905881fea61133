from flask import Blueprint

bp = Blueprint("auth", __name__)

# Importing the view modules registers their routes on bp (sign-in, account, two-step codes).
from portal.auth import twofactor_views, views  # noqa: E402,F401
