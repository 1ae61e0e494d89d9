"""The home route."""
from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    """Logged-in users land on their contacts; everybody else on the login page."""
    if current_user.is_authenticated:
        return redirect(url_for("contacts.index"))
    return redirect(url_for("auth.login"))
