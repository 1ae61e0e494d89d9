"""Blueprint registration and the request-wide glue (tenant scope, errors, template helpers)."""
from __future__ import annotations

from flask import Flask, g, render_template
from flask_login import current_user

from extensions import db, login_manager
from models import User
from models.tenancy import enter_tenant, leave_tenant
from blueprints import htmx


def register_blueprints(app: Flask) -> None:
    """Attach every area's blueprint and the request hooks."""
    from blueprints.auth import bp as auth_bp
    from blueprints.contacts import bp as contacts_bp
    from blueprints.inbox import bp as inbox_bp
    from blueprints.main import bp as main_bp
    from blueprints.media import bp as media_bp
    from blueprints.settings import bp as settings_bp
    from blueprints.sandbox import bp as sandbox_bp
    from blueprints.tags import bp as tags_bp
    from blueprints.webhooks import bp as webhooks_bp

    for blueprint in (main_bp, auth_bp, inbox_bp, contacts_bp, tags_bp, settings_bp, webhooks_bp, sandbox_bp, media_bp):
        app.register_blueprint(blueprint)

    app.before_request(_enter_request_scope)
    app.teardown_request(_leave_request_scope)
    app.after_request(_security_headers)
    _register_error_pages(app)
    _register_template_helpers(app)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    # Returning None logs out a user whose account was suspended since they logged in.
    return user if user is not None and user.is_active else None


def _enter_request_scope() -> None:
    """Requests act as the logged-in user's tenant; anonymous requests have no tenant."""
    if current_user.is_authenticated:
        g._tenant_token = enter_tenant(current_user.tenant_id)


def _leave_request_scope(_exc=None) -> None:
    token = g.pop("_tenant_token", None)
    if token is not None:
        leave_tenant(token)


def _security_headers(response):
    """Pages never render inside another site's frame, and browsers never guess content types."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _register_error_pages(app: Flask) -> None:
    def render_error(code: int, title: str, message: str):
        template = "errors/_error.html" if htmx.is_htmx() else "errors/error.html"
        return render_template(template, code=code, title=title, message=message), code

    app.register_error_handler(400, lambda e: render_error(400, "Bad request", getattr(e, "description", "")))
    app.register_error_handler(403, lambda e: render_error(403, "Forbidden", "You cannot do that."))
    app.register_error_handler(404, lambda e: render_error(404, "Not found", "There is nothing here."))
    app.register_error_handler(
        413, lambda e: render_error(413, "Too large", "The upload is larger than this server accepts.")
    )
    app.register_error_handler(
        429, lambda e: render_error(429, "Slow down", f"Too many attempts. Try again later ({e.description}).")
    )


def _register_template_helpers(app: Flask) -> None:
    from services.phones import format_phone

    app.jinja_env.filters["phone"] = format_phone

    @app.context_processor
    def _globals():
        return {"request_is_htmx": htmx.is_htmx(), "connection_badge": _connection_badge}


def _connection_badge() -> dict:
    """Label and style of the navigation badge for the logged-in tenant's channel."""
    from services.channels import badge_for, get_channel

    return badge_for(get_channel() if current_user.is_authenticated else None)
