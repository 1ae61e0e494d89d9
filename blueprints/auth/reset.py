"""The one-time password reset page a platform admin's link opens."""
from __future__ import annotations

from flask import abort, flash, redirect, url_for

from blueprints.auth.blueprint import bp
from blueprints.auth.forms import ResetPasswordForm
from blueprints.common import form_status
from blueprints.htmx import render
from extensions import db
from services.password_reset import reset_password, user_for_token


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Choose a new password; the link works once and expires in a day."""
    user = user_for_token(token)
    if user is None:
        abort(404)
    form = ResetPasswordForm(email=user.email)
    if form.validate_on_submit():
        reset_password(user, form.password.data)
        db.session.commit()
        flash("Password set. Log in with it.", "success")
        return redirect(url_for("auth.login"), code=303)
    return render("auth/reset.html", status=form_status(), form=form, email=user.email)
