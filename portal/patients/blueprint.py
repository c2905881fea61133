"""The patients blueprint; its routes live in the view modules listed in portal/patients/wiring.py (VIEW_MODULES)."""

from flask import Blueprint

bp = Blueprint("patients", __name__)
