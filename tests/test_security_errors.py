"""Error pages render for logged-in users whether or not the request reached its tenant scope."""
from __future__ import annotations

import io

from flask import render_template
from flask_login import login_user

from extensions import db
from models import User
from models.tenancy import current_tenant_id_or_none
from services.channels import ensure_channel, set_state
from tests.conftest import TEST_PASSWORD, csrf_token_from
from whatsapp.base import ConnectionState


def logged_in_client(app, user):
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    return client


def test_missing_csrf_token_while_logged_in_is_a_400_page(make_app, create_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = logged_in_client(app, create_user())
    response = client.post("/tags/", data={"name": "vip"})  # a plain form post, no token, no HX-Request
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "400 · Bad request" in page and "CSRF token" in page
    assert 'id="connection-badge"' in page  # the full page, navigation and all


def test_oversize_upload_while_logged_in_is_a_413_page(make_app, create_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = logged_in_client(app, create_user())
    too_big = io.BytesIO(b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1024))
    response = client.post("/inbox/1/messages", data={"body": "see attached", "attachment": (too_big, "big.pdf")})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "413 · Too large" in page and 'id="connection-badge"' in page


def test_error_page_renders_for_a_user_outside_any_tenant_scope(app, create_user, in_tenant):
    """The badge reads the user's own channel even when nothing entered the scope (any hook may refuse first)."""
    user = create_user()
    with in_tenant(user.tenant_id):
        set_state(ensure_channel("sandbox"), ConnectionState.CONNECTED)
    with app.test_request_context("/"):
        login_user(db.session.get(User, user.id))
        assert current_tenant_id_or_none() is None
        page = render_template("errors/error.html", code=400, title="Bad request", message="Refused.")
    assert "WhatsApp: Connected" in page


def test_unknown_status_codes_get_the_error_page(client, create_user, login):
    login(create_user())
    response = client.delete("/contacts/")
    assert response.status_code == 405
    page = response.get_data(as_text=True)
    assert "405 · Method not allowed" in page and 'id="connection-badge"' in page


def test_refused_requests_are_handled_as_the_users_tenant(make_app, create_user):
    """The scope is entered before CSRF and rate limits run, so whatever handles their refusal sees the tenant."""
    app = make_app(WTF_CSRF_ENABLED=True)
    seen = []

    def record(error):
        seen.append(current_tenant_id_or_none())
        return "refused", 400

    app.register_error_handler(400, record)
    user = create_user()
    client = logged_in_client(app, user)
    assert client.post("/tags/", data={"name": "vip"}).status_code == 400
    assert seen == [user.tenant_id]
