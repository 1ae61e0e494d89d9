"""The scheduled-messages blueprint: every route behind a login."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("scheduled", __name__, url_prefix="/scheduled")
bp.before_request(login_required(lambda: None))
