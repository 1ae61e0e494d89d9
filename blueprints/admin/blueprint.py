"""The admin blueprint: platform admins only; to everyone else (logged in or not) it does not exist (404)."""
from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _require_platform_admin():
    # 404, not 403: the console's existence is not advertised to workspace users.
    if not (current_user.is_authenticated and current_user.is_admin):
        abort(404)
