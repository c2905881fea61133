"""The messaging blueprint; its routes live in the view modules listed in portal/messaging/wiring.py (VIEW_MODULES)."""

from flask import Blueprint

bp = Blueprint("messaging", __name__)
