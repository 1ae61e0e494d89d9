"""The analytics blueprint: every route behind a login."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("analytics", __name__, url_prefix="/analytics")
_login_required = login_required(lambda: None)


@bp.before_request
def _require_login():
    return _login_required()
