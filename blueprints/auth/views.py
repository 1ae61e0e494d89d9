"""Authentication routes; login is throttled per email and per IP."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from blueprints.auth.forms import LoginForm, SignupForm
from extensions import db, limiter
from services.accounts import AccountError, authenticate, end_all_sessions, normalize_email, sign_up

bp = Blueprint("auth", __name__)


def _login_email_key() -> str:
    return "login-email:" + normalize_email(request.form.get("email", ""))


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_EMAIL"], key_func=_login_email_key, methods=["POST"])
def login():
    """Show the login form and log the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except AccountError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            login_user(user, remember=form.remember.data)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Create a tenant and its owner, then log in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = sign_up(form.email.data, form.password.data, form.tenant_name.data)
        except AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            login_user(user)
            flash(f"Welcome to MessageHub, {user.tenant.name}!", "success")
            return redirect(url_for("main.home"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/signup.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session (POST only, so a link cannot log anyone out).

    The session version moves on, so a copied session or remember-me cookie stops working too.
    """
    end_all_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.errorhandler(429)
def too_many_attempts(error):
    """Throttled logins see the form again with a plain explanation."""
    form = LoginForm()
    form.form_errors.append(
        f"Too many login attempts ({error.description}). Wait a minute and try again."
    )
    return render_template("auth/login.html", form=form), 429
