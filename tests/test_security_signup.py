"""Sign-up is throttled per client address, and a taken email costs the same hash as a new account."""
from __future__ import annotations

import services.accounts

PASSWORD = "s3cure-enough!"


def signup(client, email, address="198.51.100.7", password=PASSWORD):
    return client.post("/signup", data={"tenant_name": "Acme", "email": email, "password": password,
                                        "confirm": password}, environ_base={"REMOTE_ADDR": address})


def test_signup_is_throttled_per_address(make_app):
    app = make_app(SIGNUP_LIMIT_PER_IP="2 per minute")
    client = app.test_client()
    assert signup(client, "one@example.com").status_code == 303
    client.post("/logout")
    assert signup(client, "two@example.com", password="short").status_code == 422  # refused attempts count too
    response = signup(client, "three@example.com")
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many sign-ups from this address" in page
    assert "Create your MessageHub" in page and 'value="three@example.com"' in page  # the form, as typed
    # Another address is not held back.
    assert signup(app.test_client(), "four@example.com", address="203.0.113.9").status_code == 303


def test_signup_is_throttled_by_default(client):
    statuses = [signup(client, f"user{n}@example.com", password="short").status_code for n in range(6)]
    assert statuses == [422] * 5 + [429]


def test_taken_email_is_refused_after_the_same_hash(client, create_user, monkeypatch):
    create_user(email="taken@example.com")
    calls = []
    real_hash = services.accounts.hash_password

    def counting_hash(password):
        calls.append(password)
        return real_hash(password)

    monkeypatch.setattr(services.accounts, "hash_password", counting_hash)
    response = signup(client, "TAKEN@example.com")
    assert response.status_code == 422
    assert "An account with this email already exists." in response.get_data(as_text=True)
    assert calls == [PASSWORD]
    assert signup(client, "fresh@example.com").status_code == 303
    assert calls == [PASSWORD, PASSWORD]  # exactly what a new account costs
