"""Login throttling counts failures only: tightly per email + client address, loosely per email.

Semantics: a limit of N refuses an attempt (before looking at the password) once its window already
holds N failures; successful logins never count. So the owner's right password after a few typos
logs in, a guesser from one address is stopped after N failures, and a guesser elsewhere cannot
fill the owner's window (only the loose per-email ceiling is shared across addresses).
"""
from __future__ import annotations

from tests.conftest import TEST_PASSWORD

OWNER_ADDRESS = "198.51.100.7"
ATTACKER_ADDRESS = "203.0.113.9"


def attempt(client, email, password, address=OWNER_ADDRESS):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address}).status_code


def test_right_password_after_five_failures_logs_in(client, create_user):
    user = create_user()
    for _ in range(5):
        assert attempt(client, user.email, "wrong-password-1") == 422
    assert attempt(client, user.email, TEST_PASSWORD) == 303


def test_failures_from_one_address_are_bounded(make_app, create_user):
    app = make_app(LOGIN_LIMIT_PER_CLIENT="3 per minute")
    client = app.test_client()
    user = create_user()
    for _ in range(3):
        assert attempt(client, user.email, "wrong-password-1", ATTACKER_ADDRESS) == 422
    # The window is full: refused before the password is checked, right or wrong.
    assert attempt(client, user.email, "wrong-password-2", ATTACKER_ADDRESS) == 429
    assert attempt(client, user.email, TEST_PASSWORD, ATTACKER_ADDRESS) == 429


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(make_app, create_user):
    app = make_app(LOGIN_LIMIT_PER_CLIENT="3 per minute")
    attacker, owner = app.test_client(), app.test_client()
    user = create_user()
    for _ in range(10):
        attempt(attacker, user.email, "wrong-password-1", ATTACKER_ADDRESS)
    assert attempt(attacker, user.email, TEST_PASSWORD, ATTACKER_ADDRESS) == 429
    assert attempt(owner, user.email, TEST_PASSWORD, OWNER_ADDRESS) == 303


def test_successful_logins_do_not_count(make_app, create_user):
    app = make_app(LOGIN_LIMIT_PER_CLIENT="3 per minute", LOGIN_LIMIT_PER_EMAIL="3 per hour")
    client = app.test_client()
    user = create_user()
    for _ in range(6):
        assert attempt(client, user.email, TEST_PASSWORD) == 303
        assert client.post("/logout").status_code == 303


def test_per_email_ceiling_spans_addresses(make_app, create_user):
    app = make_app(LOGIN_LIMIT_PER_EMAIL="4 per hour")
    client = app.test_client()
    user = create_user()
    for n in range(4):
        assert attempt(client, user.email, "wrong-password-1", f"192.0.2.{n + 1}") == 422
    assert attempt(client, user.email, TEST_PASSWORD, "192.0.2.99") == 429
    # Other accounts are not affected by this email's ceiling.
    other = create_user()
    assert attempt(client, other.email, TEST_PASSWORD, "192.0.2.99") == 303


def test_unknown_emails_count_as_failures(make_app):
    app = make_app(LOGIN_LIMIT_PER_CLIENT="2 per minute")
    client = app.test_client()
    for _ in range(2):
        assert attempt(client, "nobody@example.com", "wrong-password-1") == 422
    assert attempt(client, "nobody@example.com", "wrong-password-1") == 429
