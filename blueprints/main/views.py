"""The home route."""
from __future__ import annotations

from flask import redirect, url_for
from flask_login import current_user

from blueprints.main.blueprint import bp


@bp.route("/")
def home():
    """Logged-in users land on their contacts; everybody else on the login page."""
    if current_user.is_authenticated:
        return redirect(url_for("contacts.index"))
    return redirect(url_for("auth.login"))
