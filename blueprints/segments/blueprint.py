"""The segments blueprint: every route behind a login."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("segments", __name__, url_prefix="/segments")
bp.before_request(login_required(lambda: None))
