"""Settings > WhatsApp with the Cloud API: credentials, webhook URL, test connection, subscribe."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from extensions import db
from models.tenancy import unscoped
from tests.channels.conftest import APP_SECRET, PHONE_ID, TOKEN, WABA_ID
from tests.channels.helpers import channel_of


def test_saved_credentials_are_encrypted_and_masked(app, client, cloud_tenant):
    channel = channel_of(app, cloud_tenant.tenant_id)
    assert channel.kind == "cloud" and channel.state == "pending"
    assert channel.access_token == TOKEN and channel.app_secret == APP_SECRET
    with app.app_context(), unscoped():
        raw = db.session.execute(
            text("SELECT access_token, app_secret, verify_token, webhook_token FROM channels")).one()
    assert TOKEN not in raw[0] and APP_SECRET not in raw[1]
    assert channel.verify_token not in raw[2] and channel.webhook_token not in raw[3]
    page = client.get("/settings/whatsapp").get_data(as_text=True)
    assert TOKEN not in page and APP_SECRET not in page
    assert "••••" + TOKEN[-4:] in page and "••••" + APP_SECRET[-4:] in page
    assert f"http://testserver/webhooks/cloud/{channel.webhook_token}" in page
    assert channel.verify_token in page


def test_blank_secrets_keep_stored_ones(app, client, cloud_tenant):
    response = client.post("/settings/whatsapp/cloud", data={"phone_number_id": PHONE_ID, "waba_id": WABA_ID,
                                                              "access_token": "", "app_secret": ""})
    assert response.status_code == 303
    channel = channel_of(app, cloud_tenant.tenant_id)
    assert channel.access_token == TOKEN and channel.app_secret == APP_SECRET


@pytest.mark.parametrize("field, value, message", [
    ("phone_number_id", "abc", "phone number ID"),
    ("waba_id", "", "Business Account ID"),
    ("access_token", "", "Enter an access token"),
    ("app_secret", "not hex!", "32 hexadecimal"),
])
def test_bad_credentials_rerender_and_save_nothing(app, client, create_user, login, cloud_credentials,
                                                   field, value, message):
    user = create_user()
    login(user)
    response = client.post("/settings/whatsapp/cloud", data={**cloud_credentials, field: value})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    if field != "phone_number_id":
        assert f'value="{PHONE_ID}"' in page  # what was typed stays
    assert channel_of(app, user.tenant_id) is None


def test_test_connection_reads_the_number(app, client, cloud_tenant, graph):
    response = client.post("/settings/whatsapp/cloud/test", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "Connected" in html and "Acme Dental" in html and "GREEN" in html
    channel = channel_of(app, cloud_tenant.tenant_id)
    assert channel.state == "connected" and channel.verified_name == "Acme Dental"
    assert graph.last("GET").headers["authorization"] == f"Bearer {TOKEN}"
    badge = client.get("/contacts/").get_data(as_text=True)
    assert "WhatsApp: Connected" in badge


def test_test_connection_explains_an_expired_token(app, client, cloud_tenant, graph):
    graph.fail_next(401, error_code=190)
    html = client.post("/settings/whatsapp/cloud/test", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Connection failed" in html and "token" in html.lower()
    assert TOKEN not in html
    assert channel_of(app, cloud_tenant.tenant_id).state == "error"
    assert "WhatsApp: Needs attention" in client.get("/contacts/").get_data(as_text=True)


def test_subscribe_webhooks_calls_subscribed_apps(app, client, cloud_tenant, graph):
    html = client.post("/settings/whatsapp/cloud/subscribe", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Webhooks subscribed" in html
    assert graph.last("POST").path.endswith(f"/{WABA_ID}/subscribed_apps")
    assert channel_of(app, cloud_tenant.tenant_id).webhooks_subscribed_at is not None


def test_subscribe_failure_is_shown(app, client, cloud_tenant, graph):
    graph.fail_next(500)
    html = client.post("/settings/whatsapp/cloud/subscribe", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "flash-error" in html
    assert channel_of(app, cloud_tenant.tenant_id).webhooks_subscribed_at is None


def test_regenerate_replaces_url_and_verify_token(app, client, cloud_tenant):
    before = channel_of(app, cloud_tenant.tenant_id)
    assert client.post("/settings/whatsapp/webhook/regenerate").status_code == 303
    after = channel_of(app, cloud_tenant.tenant_id)
    assert after.webhook_token != before.webhook_token and after.verify_token != before.verify_token
    old = client.get(f"/webhooks/cloud/{before.webhook_token}"
                     f"?hub.mode=subscribe&hub.verify_token={before.verify_token}&hub.challenge=1")
    assert old.status_code == 404


def test_disconnect_forgets_credentials(app, client, cloud_tenant):
    assert client.post("/settings/whatsapp/disconnect").status_code == 303
    assert channel_of(app, cloud_tenant.tenant_id) is None
    assert "WhatsApp: Not linked" in client.get("/contacts/").get_data(as_text=True)


def test_other_tenant_sees_none_of_it(app, client, cloud_tenant, create_user, login):
    channel = channel_of(app, cloud_tenant.tenant_id)
    other = create_user()
    other_client = login(other, test_client=app.test_client())
    page = other_client.get("/settings/whatsapp").get_data(as_text=True)
    assert channel.webhook_token not in page and channel.verify_token not in page and PHONE_ID not in page
    # The other tenant's actions never touch the first tenant's channel.
    other_client.post("/settings/whatsapp/disconnect")
    other_client.post("/settings/whatsapp/webhook/regenerate")
    assert channel_of(app, cloud_tenant.tenant_id).webhook_token == channel.webhook_token


def test_sending_rate_is_configurable_within_limits(app, client, cloud_tenant, cloud_credentials):
    from services.ratelimit import channel_rate

    assert channel_rate("cloud", channel_of(app, cloud_tenant.tenant_id).rate_per_second)[0] == 80
    too_fast = client.post("/settings/whatsapp/cloud", data={**cloud_credentials, "rate_per_second": 5000})
    assert too_fast.status_code == 422 and "between 1 and 1000" in too_fast.get_data(as_text=True)
    saved = client.post("/settings/whatsapp/cloud", data={**cloud_credentials, "rate_per_second": 250})
    assert saved.status_code == 303
    assert channel_rate("cloud", channel_of(app, cloud_tenant.tenant_id).rate_per_second)[0] == 250
    assert 'value="250"' in client.get("/settings/whatsapp").get_data(as_text=True)
