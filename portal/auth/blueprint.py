"""The auth blueprint; its routes live in the view modules listed in portal/auth/wiring.py (VIEW_MODULES)."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
