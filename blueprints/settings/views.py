"""Settings › Workspace: the workspace's settings, the password, and logging out everywhere."""
from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user, login_user, logout_user

from blueprints.common import form_status, put_errors
from blueprints.htmx import REFUSED, render, see_other
from blueprints.settings.blueprint import bp
from blueprints.settings.forms import AccountForm, PasswordForm
from extensions import db
from services.accounts import AccountError, change_password, end_all_sessions
from services.errors import Invalid
from services.workspace import WorkspaceSettings, save_settings


def _account_page(form: AccountForm | None = None, password_form: PasswordForm | None = None, status: int = 200):
    form = form or AccountForm(obj=current_user.tenant, formdata=None)
    password_form = password_form or PasswordForm(formdata=None)
    return render("settings/account.html", status=status, form=form, password_form=password_form)


@bp.route("/", methods=["GET", "POST"])
def account():
    """Workspace settings."""
    tenant = current_user.tenant
    form = AccountForm(obj=tenant if request.method == "GET" else None)
    if form.validate_on_submit():
        settings = WorkspaceSettings(
            name=form.name.data, default_region=form.default_region.data,
            opt_out_keywords=form.opt_out_keywords.data, opt_in_keywords=form.opt_in_keywords.data,
            retention_days=form.retention_days.data, retention_max_messages=form.retention_max_messages.data,
            # A post without the field (an older page, a script) keeps the zone instead of resetting it.
            time_zone=form.time_zone.data if "time_zone" in request.form else None,
        )
        try:
            save_settings(tenant, settings)
        except Invalid as exc:
            db.session.rollback()
            put_errors(form, exc.errors)
        else:
            db.session.commit()
            flash("Settings saved.", "success")
            return see_other(url_for("settings.account"))
    return _account_page(form, status=form_status())


@bp.post("/password")
def password():
    """Change the password; every other session and remember-me cookie stops working."""
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            change_password(user, form.current_password.data, form.new_password.data)
        except AccountError as exc:
            db.session.rollback()
            form.current_password.errors.append(str(exc))
        else:
            db.session.commit()
            # This browser stays logged in under the new session version (and keeps its remember-me).
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            login_user(user, remember=remembered)
            flash("Password changed. Every other device is logged out.", "success")
            return see_other(url_for("settings.account"))
    return _account_page(password_form=form, status=REFUSED)


@bp.post("/log-out-everywhere")
def log_out_everywhere():
    """End every session of this user, on every device, this one included."""
    end_all_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    flash("You are logged out on every device.", "info")
    return redirect(url_for("auth.login"), code=303)
