"""Authentication routes; failed logins are throttled per email and client address, sign-ups per address."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from blueprints.auth.blueprint import bp
from blueprints.auth.forms import LoginForm, SignupForm
from blueprints.common import form_status
from blueprints.htmx import render
from extensions import db, limiter
from services.accounts import AccountError, authenticate, end_all_sessions, normalize_email, sign_up
from services.audit import failed_sign_in


def _login_email() -> str:
    return normalize_email(request.form.get("email", ""))


def _login_email_key() -> str:
    return "login-email:" + _login_email()


def _login_client_key() -> str:
    return f"login-client:{get_remote_address()}:{_login_email()}"


def _login_failed(_response) -> bool:
    """Only refused credentials count against the login limits (see `login`)."""
    return bool(g.get("login_failed"))


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("main.home")


# A limit with `deduct_when` refuses a request once the window already holds that many failures,
# before the password is looked at: with "10 per 15 minutes" the 11th attempt after ten failures
# is refused whatever it carries, while the right password after fewer failures always logs in.
# Failures from another address never fill the owner's per-client window; only the loose
# per-email ceiling is shared, against guessing spread over many addresses.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_CLIENT"], key_func=_login_client_key, methods=["POST"],
               deduct_when=_login_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_EMAIL"], key_func=_login_email_key, methods=["POST"],
               deduct_when=_login_failed)
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
            failed_sign_in(form.email.data)
            db.session.commit()
            g.login_failed = True
            form.form_errors.append(str(exc))
        else:
            login_user(user, remember=form.remember.data)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")), code=303)
    return render("auth/login.html", status=form_status(), form=form)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_LIMIT_PER_IP"], methods=["POST"])
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
    return render("auth/signup.html", status=form_status(), form=form)


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
    """Throttled logins and sign-ups see their form again with a plain explanation."""
    if request.endpoint == "auth.signup":
        form = SignupForm()
        form.form_errors.append(
            f"Too many sign-ups from this address ({error.description}). Try again later."
        )
        return render("auth/signup.html", status=429, form=form)
    form = LoginForm()
    form.form_errors.append(
        f"Too many login attempts ({error.description}). Wait a few minutes and try again."
    )
    return render("auth/login.html", status=429, form=form)
