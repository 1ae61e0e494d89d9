"""The settings blueprint: every route behind a login."""
from __future__ import annotations

from flask import Blueprint, Response, request
from flask_login import current_user, login_required

bp = Blueprint("settings", __name__, url_prefix="/settings")
_login_required = login_required(lambda: None)
# Background polls of every page: a logged-out poll must neither flash "please log in" into the
# session nor swap a login page into the navigation, so it is refused quietly.
QUIET_POLLS = {"settings.whatsapp_badge"}


@bp.before_request
def _require_login():
    if request.endpoint in QUIET_POLLS and not current_user.is_authenticated:
        return Response(status=401)
    return _login_required()
