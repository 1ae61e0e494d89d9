"""With Redis unreachable, login keeps working (limits fall back to process memory) and pages render."""
from __future__ import annotations

import socket

import pytest

from extensions import limiter
from tests.conftest import TEST_PASSWORD


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_down_app(app, make_app):
    # Built after `app`: the limiter is one object per process and takes the storage of the last app built.
    down = make_app(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0", LOGIN_LIMIT_PER_CLIENT="3 per minute")
    assert limiter.storage is not None and not limiter.storage.check()  # really unreachable
    yield down
    # Let the next test's app start from its own live storage instead of waiting for the recovery check.
    limiter._storage_dead = False


def test_login_and_pages_work_while_redis_is_down(redis_down_app, create_user):
    user = create_user()
    client = redis_down_app.test_client()
    assert client.get("/login").status_code == 200
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 303
    for url in ("/contacts/", "/tags/", "/settings/", "/contacts/new"):
        assert client.get(url).status_code == 200, url
    assert client.post("/logout").status_code == 303


def test_login_limits_still_apply_from_memory(redis_down_app, create_user):
    user = create_user()
    client = redis_down_app.test_client()
    for _ in range(3):
        assert client.post("/login", data={"email": user.email, "password": "wrong-password-1"}).status_code == 422
    assert client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 429
