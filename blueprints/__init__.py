"""Blueprint registration and the request-wide glue (tenant scope, errors, template helpers)."""
from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from blueprints import filters, htmx
from blueprints.badge import badge_for
from extensions import db, login_manager
from models import User
from models.tenancy import current_tenant_id_or_none, enter_tenant, leave_tenant, tenant_scope
from services.channels import get_channel


def register_blueprints(app: Flask) -> None:
    """Attach every area's blueprint and the request hooks."""
    from blueprints.admin import bp as admin_bp
    from blueprints.analytics import bp as analytics_bp
    from blueprints.auth import bp as auth_bp
    from blueprints.broadcasts import bp as broadcasts_bp
    from blueprints.contacts import bp as contacts_bp
    from blueprints.drips import bp as drips_bp
    from blueprints.inbox import bp as inbox_bp
    from blueprints.main import bp as main_bp
    from blueprints.media import bp as media_bp
    from blueprints.sandbox import bp as sandbox_bp
    from blueprints.scheduled import bp as scheduled_bp
    from blueprints.segments import bp as segments_bp
    from blueprints.settings import bp as settings_bp
    from blueprints.tags import bp as tags_bp
    from blueprints.webhooks import bp as webhooks_bp

    for blueprint in (main_bp, auth_bp, inbox_bp, contacts_bp, tags_bp, settings_bp, webhooks_bp, sandbox_bp, media_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(segments_bp)
    app.register_blueprint(broadcasts_bp)
    app.register_blueprint(scheduled_bp)
    app.register_blueprint(drips_bp)
    from blueprints.deals import bp as deals_bp
    from blueprints.notes import bp as notes_bp
    from blueprints.tasks import bp as tasks_bp

    for blueprint in (deals_bp, tasks_bp, notes_bp):
        app.register_blueprint(blueprint)
    from blueprints.workflows import bp as workflows_bp

    app.register_blueprint(workflows_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(analytics_bp)
    from blueprints.imports import bp as imports_bp

    app.register_blueprint(imports_bp)

    from blueprints.api import bp as api_bp

    app.register_blueprint(api_bp)

    # First of all hooks: CSRF and rate limits (registered by extensions) can refuse a request,
    # and the error page they lead to must already run as the user's tenant.
    app.before_request_funcs.setdefault(None, []).insert(0, _enter_request_scope)
    app.teardown_request(_leave_request_scope)
    app.after_request(_security_headers)
    _register_error_pages(app)
    _register_template_helpers(app)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """Cookies name "<id>:<session version>"; any other version (or shape) is a logged-out cookie."""
    raw_id, _, raw_version = user_id.partition(":")
    if not (raw_id.isdigit() and raw_version.isdigit()):
        return None
    user = db.session.get(User, int(raw_id))
    if user is None or user.session_version != int(raw_version):
        return None
    # Returning None logs out a user whose account was suspended since they logged in.
    return user if user.is_active else None


def _enter_request_scope() -> None:
    """Requests act as the logged-in user's tenant; anonymous requests have no tenant."""
    if current_user.is_authenticated:
        g._tenant_token = enter_tenant(current_user.tenant_id)


def _leave_request_scope(_exc=None) -> None:
    token = g.pop("_tenant_token", None)
    if token is not None:
        leave_tenant(token)


# Scripts and styles come only from our own files: no inline script, no eval, no inline style
# (tag colours and avatar hues travel in data attributes that static/js/app.js applies).
# Pico draws its form icons with data: images; QR codes are data: images too.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])
HSTS = "max-age=31536000; includeSubDomains"


def _security_headers(response):
    """CSP, no framing, no content sniffing; HSTS over https; nothing private kept in caches."""
    headers = response.headers
    # setdefault: routes serving untrusted files (inbox media) set a stricter policy of their own.
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["PUBLIC_BASE_URL"].startswith("https://"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static" and current_user.is_authenticated:
        # A logged-in page (or a workspace's file) must not outlive the session in a shared cache
        # or in the browser's history after logout.
        headers["Cache-Control"] = "no-store"
    return response


ERROR_PAGES = {
    400: ("Bad request", None),
    403: ("Forbidden", "You cannot do that."),
    404: ("Not found", "There is nothing here."),
    405: ("Method not allowed", "This address does not accept that request."),
    413: ("Too large", "The upload is larger than this server accepts."),
    429: ("Slow down", None),
    500: ("Something went wrong", "The error was logged. Try again in a moment."),
}


def _register_error_pages(app: Flask) -> None:
    def render_error(code: int, title: str, message: str):
        return htmx.render("errors/error.html", "errors/_error.html", status=code, code=code, title=title,
                           message=message)

    def http_error(error: HTTPException):
        code = error.code or 500
        title, message = ERROR_PAGES.get(code, (error.name, None))
        if code == 429:
            message = f"Too many attempts. Try again later ({error.description})."
        return render_error(code, title, message if message is not None else (error.description or ""))

    def server_error(error):
        # The failed statement may have left the transaction unusable; the page itself reads the database.
        db.session.rollback()
        title, message = ERROR_PAGES[500]
        try:
            return render_error(500, title, message)
        except Exception:
            current_app.logger.exception("error page failed to render")
            return f"500 · {title}", 500, {"Content-Type": "text/plain; charset=utf-8"}

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(500, server_error)


def _register_template_helpers(app: Flask) -> None:
    filters.init_app(app)

    @app.context_processor
    def _globals():
        return {"request_is_htmx": htmx.is_htmx(), "connection_badge": _connection_badge}


def _connection_badge() -> dict:
    """Label and style of the navigation badge for the logged-in tenant's channel.

    Safe on any page, error pages included: a request refused before its tenant scope was entered
    (or rendered outside a request) reads the channel in the user's own scope.
    """
    if not current_user.is_authenticated:
        return badge_for(None)
    if current_tenant_id_or_none() == current_user.tenant_id:
        return badge_for(get_channel())
    with tenant_scope(current_user.tenant_id):
        return badge_for(get_channel())
