"""The broadcasts blueprint: every route behind a login."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("broadcasts", __name__, url_prefix="/broadcasts")
bp.before_request(login_required(lambda: None))
