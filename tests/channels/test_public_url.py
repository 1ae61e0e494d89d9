"""One public base URL: it follows the port the app runs on, and the settings warn when outsiders cannot reach it."""
from __future__ import annotations

import pytest

from services.public_url import outside_reach_problem, public_base_url
from tests.channels.helpers import channel_of
from tests.conftest import TEST_PASSWORD

HOST = "http://127.0.0.1:5101"  # where the browser reached the app: not the derived default port


@pytest.fixture
def derived(app):
    """PUBLIC_BASE_URL not set: derived from HOST/PORT (here the default port, as before the fix)."""
    app.config["PUBLIC_BASE_URL"] = app.config["PUBLIC_BASE_URL_DERIVED"] = "http://127.0.0.1:5000"
    return app


@pytest.fixture
def browser(derived, create_user):
    """A logged-in client that reaches the app at HOST."""
    user = create_user(tenant_name="Port Co")
    client = derived.test_client()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}, base_url=HOST)
    assert response.status_code == 303
    client.user = user
    return client


def test_links_built_in_a_request_use_the_address_the_browser_used(derived, browser):
    assert browser.post("/settings/whatsapp/sandbox", base_url=HOST).status_code == 303
    channel = channel_of(derived, browser.user.tenant_id)
    assert channel.qr_code == f"{HOST}/sandbox/{channel.instance_name}"
    page = browser.get("/settings/whatsapp", base_url=HOST).get_data(as_text=True)
    assert f'href="{HOST}/sandbox/{channel.instance_name}"' in page
    # A QR stored while the app ran elsewhere is rebuilt on today's address.
    elsewhere = browser.get("/settings/whatsapp", base_url="http://127.0.0.1:5202").get_data(as_text=True)
    assert "http://127.0.0.1:5202/sandbox/" in elsewhere and "5101" not in elsewhere


def test_the_webhook_url_follows_the_request_too(derived, browser, cloud_credentials):
    assert browser.post("/settings/whatsapp/cloud", data=cloud_credentials, base_url=HOST).status_code == 303
    channel = channel_of(derived, browser.user.tenant_id)
    page = browser.get("/settings/whatsapp", base_url=HOST).get_data(as_text=True)
    assert f'value="{HOST}/webhooks/cloud/{channel.webhook_token}"' in page


def test_outside_a_request_the_configured_value_is_used(derived):
    with derived.app_context():
        assert public_base_url() == "http://127.0.0.1:5000"
    with derived.test_request_context("/", base_url=HOST):
        assert public_base_url() == HOST
        from models.tenancy import tenant_scope
        from services.media_links import signed_media_url

        with tenant_scope(1):
            assert signed_media_url("1/a.jpg").startswith(f"{HOST}/m/")


def test_a_chosen_public_base_url_ignores_the_request(app):
    app.config["PUBLIC_BASE_URL"] = "https://crm.example.com"  # differs from the derived value: set on purpose
    with app.test_request_context("/", base_url=HOST):
        assert public_base_url() == "https://crm.example.com"
    app.config["PUBLIC_BASE_URL_DERIVED"] = None  # production, or set in the environment
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:5000"
    with app.test_request_context("/", base_url=HOST):
        assert public_base_url() == "http://127.0.0.1:5000"


@pytest.mark.parametrize("url, reason", [
    ("http://localhost:5000", "localhost"),
    ("http://127.0.0.1:5101", "loopback"),
    ("http://[::1]:5000", "loopback"),
    ("http://192.168.1.20:5000", "private"),
    ("http://10.0.0.5", "private"),
    ("http://app:5000", "without dots"),
    ("http://shop.local", "local network"),
    ("https://crm.example.com", None),
    ("http://203.0.113.9:8080", "private"),  # documentation range: reserved, nobody routes it
    ("https://8.8.8.8", None),
])
def test_what_outsiders_cannot_reach(url, reason):
    problem = outside_reach_problem(url)
    assert (problem is None) if reason is None else (reason in problem)


@pytest.mark.parametrize("base, warned", [
    ("http://127.0.0.1:5000", "loopback"),
    ("http://localhost:5101", "localhost"),
    ("https://192.168.0.10", "private"),
    ("http://crm.example.com", "https"),
    ("https://crm.example.com", None),
])
def test_cloud_settings_warn_when_meta_cannot_call_the_webhook(app, client, cloud_tenant, base, warned):
    app.config["PUBLIC_BASE_URL"], app.config["PUBLIC_BASE_URL_DERIVED"] = base, None  # set explicitly
    page = client.get("/settings/whatsapp").get_data(as_text=True)
    if warned is None:
        assert 'id="webhook-problem"' not in page
    else:
        assert 'id="webhook-problem"' in page and warned in page and "PUBLIC_BASE_URL" in page


def test_only_cloud_webhooks_get_the_warning(app, client, create_user, login):
    login(create_user())
    client.post("/settings/whatsapp/sandbox")
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:5000"
    assert 'id="webhook-problem"' not in client.get("/settings/whatsapp").get_data(as_text=True)
