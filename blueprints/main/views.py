"""The home route: the getting-started checklist and the workspace's counts."""
from __future__ import annotations

from flask import redirect, url_for
from flask_login import current_user

from blueprints.htmx import render
from blueprints.main.blueprint import bp
from services.dashboard import overview


@bp.route("/")
def home():
    """Logged-in users see their home page; everybody else goes to the login page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_admin:
        return redirect(url_for("admin.overview"))  # a platform admin's own workspace is empty
    return render("main/home.html", overview=overview())
