"""The deals blueprint: every route behind a login."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("deals", __name__, url_prefix="/deals")
bp.before_request(login_required(lambda: None))
