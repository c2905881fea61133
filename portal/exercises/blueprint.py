"""The exercises blueprint; its routes live in the view modules listed in portal/exercises/wiring.py (VIEW_MODULES)."""

from flask import Blueprint

bp = Blueprint("exercises", __name__)
