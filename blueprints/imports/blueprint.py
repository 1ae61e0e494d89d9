"""The contact import and export blueprint: every route behind a login."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("imports", __name__, url_prefix="/contacts")
bp.before_request(login_required(lambda: None))
