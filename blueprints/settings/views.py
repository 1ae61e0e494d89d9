"""Settings routes."""
from __future__ import annotations

import phonenumbers
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, ValidationError

from blueprints.htmx import see_other
from extensions import db
from services.accounts import AccountError, change_password, end_all_sessions
from services.passwords import password_problems

bp = Blueprint("settings", __name__, url_prefix="/settings")
bp.before_request(login_required(lambda: None))


def _region_choices() -> list[tuple[str, str]]:
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    return [(r, f"{r} (+{phonenumbers.country_code_for_region(r)})") for r in regions]


class AccountForm(FlaskForm):
    """Workspace name and the region for numbers typed without a country code."""

    name = StringField("Workspace name", validators=[DataRequired(), Length(max=120)])
    default_region = SelectField("Default phone region", choices=_region_choices)
    opt_out_keywords = TextAreaField("Opt-out keywords", validators=[Length(max=2000)],
                                     description="Comma-separated. A customer who sends one of these stops receiving "
                                                 "broadcasts and automated messages.")
    opt_in_keywords = TextAreaField("Opt-in keywords", validators=[Length(max=2000)],
                                    description="Comma-separated. Sending one of these subscribes the customer again.")
    retention_days = IntegerField("Keep messages for (days)", validators=[NumberRange(1, 3650)])
    retention_max_messages = IntegerField("Keep at most (messages)", validators=[NumberRange(100, 10_000_000)])

    def validate_opt_in_keywords(self, field):
        """A word cannot both stop and restart messages."""
        from services.optout import parse_keywords

        both = set(parse_keywords(field.data)) & set(parse_keywords(self.opt_out_keywords.data))
        if both:
            raise ValidationError(f"These words are in both lists: {', '.join(sorted(both))}.")


class PasswordForm(FlaskForm):
    """A new password, given the current one."""

    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("new_password", "Passwords differ.")])

    def validate_new_password(self, field):
        """The sign-up strength rule."""
        problems = password_problems(field.data or "", current_user.email)
        if problems:
            raise ValidationError(" ".join(problems))


def _account_page(form: AccountForm | None = None, password_form: PasswordForm | None = None, status: int = 200):
    form = form or AccountForm(obj=current_user.tenant, formdata=None)
    password_form = password_form or PasswordForm(formdata=None)
    return render_template("settings/account.html", form=form, password_form=password_form), status


@bp.route("/", methods=["GET", "POST"])
def account():
    """Workspace settings."""
    tenant = current_user.tenant
    form = AccountForm(obj=tenant if request.method == "GET" else None)
    if form.validate_on_submit():
        from services.optout import parse_keywords

        tenant.name = form.name.data.strip()
        tenant.default_region = form.default_region.data
        tenant.opt_out_keywords = ", ".join(parse_keywords(form.opt_out_keywords.data))
        tenant.opt_in_keywords = ", ".join(parse_keywords(form.opt_in_keywords.data))
        tenant.retention_days = form.retention_days.data
        tenant.retention_max_messages = form.retention_max_messages.data
        db.session.commit()
        flash("Settings saved.", "success")
        return see_other(url_for("settings.account"))
    return _account_page(form, status=400 if request.method == "POST" else 200)


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
    return _account_page(password_form=form, status=400)


@bp.post("/log-out-everywhere")
def log_out_everywhere():
    """End every session of this user, on every device, this one included."""
    end_all_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    flash("You are logged out on every device.", "info")
    return redirect(url_for("auth.login"), code=303)
