"""Sign-up, login, throttling, suspension, sessions and CSRF."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Tenant, User
from tests.conftest import TEST_PASSWORD, csrf_token_from


def signup(client, email="new@example.com", password="s3cure-enough!", tenant="Acme", confirm=None):
    return client.post("/signup", data={"tenant_name": tenant, "email": email, "password": password,
                                        "confirm": confirm or password})


def test_signup_creates_tenant_and_logs_in(app, client):
    response = signup(client)
    assert response.status_code == 303
    assert client.get("/contacts/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new@example.com"))
        assert user.tenant.name == "Acme"
        assert user.password_hash.startswith("$argon2id$")
        assert "s3cure-enough!" not in user.password_hash


def test_each_signup_is_its_own_tenant(app, client):
    signup(client, email="one@example.com", tenant="One")
    client.post("/logout")
    signup(client, email="two@example.com", tenant="Two")
    with app.app_context():
        users = db.session.scalars(select(User).order_by(User.id)).all()
        assert users[0].tenant_id != users[1].tenant_id
        assert db.session.query(Tenant).count() == 2


def test_weak_password_is_refused_and_form_kept(client):
    response = signup(client, password="short")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "at least 10 characters" in page
    assert 'value="new@example.com"' in page and 'value="Acme"' in page


def test_duplicate_email_is_refused(client, create_user):
    create_user(email="taken@example.com")
    response = signup(client, email="TAKEN@example.com")
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


def test_mismatched_confirmation_is_refused(client):
    response = signup(client, confirm="something-else-1")
    assert response.status_code == 422
    assert "Passwords differ" in response.get_data(as_text=True)


def test_wrong_password_gives_generic_message(client, create_user):
    user = create_user()
    response = client.post("/login", data={"email": user.email, "password": "wrong-password-1"})
    assert response.status_code == 422
    assert "Email or password is incorrect" in response.get_data(as_text=True)
    response = client.post("/login", data={"email": "nobody@example.com", "password": "wrong-password-1"})
    assert "Email or password is incorrect" in response.get_data(as_text=True)


def test_login_records_last_login(app, client, create_user, login):
    user = create_user()
    login(user)
    with app.app_context():
        assert db.session.get(User, user.id).last_login_at is not None


def test_login_is_throttled_per_email(client, create_user):
    """Failures are counted per email and address; once the window is full even the right password waits."""
    user = create_user()
    for _ in range(10):  # LOGIN_LIMIT_PER_CLIENT defaults to 10 failures per 15 minutes
        assert client.post("/login", data={"email": user.email, "password": "wrong-password-1"}).status_code == 422
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert "Too many login attempts" in response.get_data(as_text=True)
    # Another email from the same address is not blocked by this limit.
    other = create_user()
    assert client.post("/login", data={"email": other.email, "password": TEST_PASSWORD}).status_code == 303


def test_login_is_throttled_per_ip(make_app, create_user):
    app = make_app(LOGIN_LIMIT_PER_IP="3 per minute")
    client = app.test_client()
    for n in range(3):
        client.post("/login", data={"email": f"x{n}@example.com", "password": "wrong-password-1"})
    response = client.post("/login", data={"email": "y@example.com", "password": "wrong-password-1"})
    assert response.status_code == 429


def test_suspended_user_cannot_log_in(client, create_user):
    user = create_user(active=False)
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 422
    assert "suspended" in response.get_data(as_text=True)


def test_suspended_tenant_cannot_log_in_and_is_logged_out(app, client, create_user, login):
    user = create_user()
    login(user)
    with app.app_context():
        db.session.get(Tenant, user.tenant_id).status = Tenant.SUSPENDED
        db.session.commit()
    assert client.get("/contacts/").status_code == 302  # sent back to login
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert "account is suspended" in response.get_data(as_text=True)


def test_logout_requires_post(client, create_user, login):
    login(create_user())
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 303
    assert client.get("/contacts/").status_code == 302


def test_remember_me_sets_httponly_cookie(client, create_user):
    user = create_user()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0]


def test_login_ignores_offsite_next(client, create_user):
    user = create_user()
    response = client.post("/login?next=//evil.example/", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_pages_need_login(client):
    for url in ("/contacts/", "/tags/", "/settings/", "/contacts/new"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_csrf_is_enforced_for_forms_and_htmx(make_app, create_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    user = create_user()
    assert client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 400
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    # HTMX requests carry the token in a header (set on <body hx-headers>).
    page = client.get("/tags/").get_data(as_text=True)
    assert '"X-CSRFToken"' in page
    assert client.post("/tags/", data={"name": "vip"}, headers={"HX-Request": "true"}).status_code == 400
    ok = client.post("/tags/", data={"name": "vip"}, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert ok.status_code == 204 and ok.headers["HX-Redirect"] == "/tags/"


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
