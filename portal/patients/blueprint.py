"""The patients blueprint; its routes live in the view modules listed in portal.VIEW_MODULES."""

from flask import Blueprint

bp = Blueprint("patients", __name__)
