"""The notes blueprint: every route behind a login."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("notes", __name__, url_prefix="/notes")
bp.before_request(login_required(lambda: None))
