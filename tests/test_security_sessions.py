"""Session and remember-me cookies carry the user's session version: logout, "log out everywhere",
a password change and a suspension make every copy of them stop working."""
from __future__ import annotations

import pytest

from extensions import db
from models import Tenant, User
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "another-horse-77"


def log_in(app, user, password=TEST_PASSWORD):
    """A fresh browser logged in with "Keep me logged in"."""
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": password, "remember": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return client


def stolen(app, client, *names):
    """Another browser holding copies of `client`'s cookies."""
    thief = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, f"no {name} cookie to copy"
        thief.set_cookie(name, cookie.value)
    return thief


def is_logged_in(client) -> bool:
    response = client.get("/contacts/")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


COPIES = [("session",), ("remember_token",), ("session", "remember_token")]


@pytest.mark.parametrize("names", COPIES)
def test_copied_cookies_work_until_logout(app, create_user, names):
    user = create_user()
    client = log_in(app, user)
    assert is_logged_in(stolen(app, client, *names))  # the copy is a working login...
    thief = stolen(app, client, *names)
    assert client.post("/logout").status_code == 303
    assert not is_logged_in(thief)  # ...until its owner logs out
    assert not is_logged_in(stolen(app, thief, *names))


def test_log_out_everywhere_ends_other_browsers(app, create_user):
    user = create_user()
    laptop, phone = log_in(app, user), log_in(app, user)
    copies = [stolen(app, phone, *names) for names in COPIES]
    page = laptop.get("/settings/").get_data(as_text=True)
    assert "Log out everywhere" in page
    response = laptop.post("/settings/log-out-everywhere")
    assert response.status_code == 303 and "/login" in response.headers["Location"]
    assert not is_logged_in(laptop)
    assert not is_logged_in(phone)
    assert not any(is_logged_in(copy) for copy in copies)
    assert is_logged_in(log_in(app, user))  # the password still works


def test_password_change_needs_the_current_password(app, create_user):
    user = create_user()
    client = log_in(app, user)
    response = client.post("/settings/password", data={
        "current_password": "wrong-password-1", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 422
    assert "The current password is incorrect." in response.get_data(as_text=True)
    weak = client.post("/settings/password", data={
        "current_password": TEST_PASSWORD, "new_password": "short", "confirm": "short"})
    assert weak.status_code == 422 and "at least 10 characters" in weak.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).session_version == 0  # nothing changed


def test_password_change_ends_other_sessions_and_keeps_this_one(app, create_user):
    user = create_user()
    client, other = log_in(app, user), log_in(app, user)
    copy = stolen(app, other, "remember_token")
    response = client.post("/settings/password", data={
        "current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert is_logged_in(client)
    assert is_logged_in(stolen(app, client, "remember_token"))  # this browser's remember-me was renewed
    assert not is_logged_in(other) and not is_logged_in(copy)
    assert client.post("/logout").status_code == 303
    refused = app.test_client().post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert refused.status_code == 422
    assert is_logged_in(log_in(app, user, NEW_PASSWORD))


def test_suspending_a_user_ends_their_sessions_for_good(app, create_user):
    user = create_user()
    client = log_in(app, user)
    copy = stolen(app, client, "session", "remember_token")
    for active in (False, True):  # suspended, then reinstated
        with app.app_context():
            db.session.get(User, user.id).active = active
            db.session.commit()
    assert not is_logged_in(client) and not is_logged_in(copy)
    assert is_logged_in(log_in(app, user))


def test_suspending_a_tenant_ends_its_users_sessions_for_good(app, create_user):
    user = create_user()
    bystander = create_user()
    client, unaffected = log_in(app, user), log_in(app, bystander)
    for status in (Tenant.SUSPENDED, Tenant.ACTIVE):
        with app.app_context():
            db.session.get(Tenant, user.tenant_id).status = status
            db.session.commit()
    assert not is_logged_in(client)
    assert is_logged_in(unaffected)
    assert is_logged_in(log_in(app, user))


def test_cookies_without_a_session_version_are_refused(app, create_user):
    """Cookies from before session versions carried the bare user id."""
    from flask_login.utils import encode_cookie

    user = create_user()
    client = app.test_client()
    with app.test_request_context():
        client.set_cookie("remember_token", encode_cookie(str(user.id)))
    assert not is_logged_in(client)
