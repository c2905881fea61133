"""The admin blueprint; its routes live in the view modules listed in portal/admin/wiring.py (VIEW_MODULES)."""

from flask import Blueprint

bp = Blueprint("admin", __name__)
