"""The workflows blueprint: every route behind a login."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("workflows", __name__, url_prefix="/workflows")
bp.before_request(login_required(lambda: None))
