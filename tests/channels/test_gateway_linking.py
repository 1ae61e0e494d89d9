"""Linking a phone by QR through the gateway: instance, QR, polling, webhooks, disconnect."""
from __future__ import annotations

import pytest

from services.phones import format_phone
from tests.channels.conftest import GATEWAY_KEY
from tests.channels.helpers import channel_of, contacts_of, messages_of


@pytest.fixture
def qr_tenant(app, live_server, create_user, login, client):
    """A logged-in tenant who pressed "Link with QR"; webhooks reach the live server."""
    user = create_user(tenant_name="QR Co")
    login(user)
    response = client.post("/settings/whatsapp/qr")
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    return user


def test_link_creates_own_instance_and_shows_qr(app, client, qr_tenant, gateway, live_server):
    channel = channel_of(app, qr_tenant.tenant_id)
    instance = gateway.instances[channel.instance_name]
    assert channel.kind == "gateway" and channel.state == "pending"
    assert len(channel.instance_name) >= 20  # unguessable
    assert channel.instance_token == instance.token
    assert instance.webhook["url"] == f"{live_server}/webhooks/gateway/{channel.webhook_token}"
    page = client.get("/settings/whatsapp").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page and 'hx-trigger="every 2s"' in page
    assert channel.instance_token not in page and GATEWAY_KEY not in page


def test_poll_refreshes_rotating_qr_then_stops_when_linked(app, client, qr_tenant, gateway, run_jobs):
    channel = channel_of(app, qr_tenant.tenant_id)
    first_qr = channel.qr_code
    partial = client.get("/settings/whatsapp/status", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in partial and "Waiting for the scan" in partial
    assert channel_of(app, qr_tenant.tenant_id).qr_code != first_qr  # the gateway rotated it
    assert gateway.simulate_scan(channel.instance_name, number="5511912345678", name="Ana's phone")
    run_jobs()
    partial = client.get("/settings/whatsapp/status", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Connected" in partial and format_phone("5511912345678") in partial and "every 2s" not in partial
    assert 'id="connection-badge"' in partial and 'hx-swap-oob="true"' in partial
    linked = channel_of(app, qr_tenant.tenant_id)
    assert linked.state == "connected" and linked.qr_code is None and linked.profile_name == "Ana's phone"


def test_gateway_webhooks_bring_inbound_messages(app, qr_tenant, gateway, run_jobs):
    channel = channel_of(app, qr_tenant.tenant_id)
    gateway.simulate_scan(channel.instance_name)
    body = gateway.post_inbound(channel.instance_name, "5511987654321", "Oi, tudo bem?", push_name="Carla")
    assert gateway.deliveries[-1][2] == 200
    run_jobs()
    [contact] = contacts_of(app, qr_tenant.tenant_id)
    assert contact.phone == "+5511987654321" and contact.name == "Carla"
    [message] = messages_of(app, qr_tenant.tenant_id)
    assert message.body == "Oi, tudo bem?" and message.provider_message_id == body["data"]["key"]["id"]


def test_logout_on_the_phone_shows_disconnected(app, client, qr_tenant, gateway, run_jobs):
    channel = channel_of(app, qr_tenant.tenant_id)
    gateway.simulate_scan(channel.instance_name)
    gateway.simulate_logout(channel.instance_name)
    run_jobs()
    assert channel_of(app, qr_tenant.tenant_id).state == "disconnected"
    assert "WhatsApp: Disconnected" in client.get("/contacts/").get_data(as_text=True)


def test_webhook_for_another_instance_is_refused(app, qr_tenant):
    channel = channel_of(app, qr_tenant.tenant_id)
    url = f"/webhooks/gateway/{channel.webhook_token}"
    other = app.test_client().post(url, json={"event": "messages.upsert", "instance": "someone-else", "data": {}})
    assert other.status_code == 403
    assert app.test_client().post("/webhooks/gateway/not-a-token", json={"instance": "x"}).status_code == 404
    assert app.test_client().post(url, data=b"garbage", content_type="application/json").status_code == 400


def test_two_tenants_get_separate_instances(app, qr_tenant, gateway, create_user, login, run_jobs):
    other = create_user(tenant_name="Other QR")
    other_client = login(other, test_client=app.test_client())
    assert other_client.post("/settings/whatsapp/qr").status_code == 303
    mine, theirs = channel_of(app, qr_tenant.tenant_id), channel_of(app, other.tenant_id)
    assert mine.instance_name != theirs.instance_name and mine.webhook_token != theirs.webhook_token
    gateway.simulate_scan(theirs.instance_name)
    gateway.post_inbound(theirs.instance_name, "14155550123", "for the other tenant")
    run_jobs()
    assert messages_of(app, qr_tenant.tenant_id) == []
    assert [m.body for m in messages_of(app, other.tenant_id)] == ["for the other tenant"]
    assert channel_of(app, qr_tenant.tenant_id).state == "pending"


def test_gateway_down_gives_a_clear_message_and_saves_nothing(app, client, live_server, create_user, login, gateway):
    user = create_user()
    login(user)
    gateway.go_down("refuse")
    response = client.post("/settings/whatsapp/qr")
    assert response.status_code == 502
    assert "gateway unreachable" in response.get_data(as_text=True).lower()
    assert channel_of(app, user.tenant_id) is None
    gateway.come_up()
    gateway.fail_next(500)
    assert client.post("/settings/whatsapp/qr").status_code == 502
    assert channel_of(app, user.tenant_id) is None


def test_disconnect_logs_out_and_deletes_the_instance(app, client, qr_tenant, gateway):
    name = channel_of(app, qr_tenant.tenant_id).instance_name
    gateway.simulate_scan(name)
    assert client.post("/settings/whatsapp/disconnect").status_code == 303
    assert name not in gateway.instances
    assert channel_of(app, qr_tenant.tenant_id) is None


def test_disconnect_with_gateway_down_keeps_the_link(app, client, qr_tenant, gateway):
    gateway.go_down("error")
    response = client.post("/settings/whatsapp/disconnect")
    assert response.status_code == 502
    assert channel_of(app, qr_tenant.tenant_id) is not None


def test_cloud_and_qr_tenants_side_by_side(app, qr_tenant, gateway, create_user, login, cloud_credentials, run_jobs):
    import json

    from tests.channels.conftest import APP_SECRET, PHONE_ID
    from tests.fakes.cloud_webhooks import build_webhook, message_payload
    from whatsapp.signature import sign_payload

    cloud_user = create_user(tenant_name="Cloud side")
    cloud_client = login(cloud_user, test_client=app.test_client())
    assert cloud_client.post("/settings/whatsapp/cloud", data=cloud_credentials).status_code == 303
    cloud_channel, qr_channel = channel_of(app, cloud_user.tenant_id), channel_of(app, qr_tenant.tenant_id)
    gateway.simulate_scan(qr_channel.instance_name)
    gateway.post_inbound(qr_channel.instance_name, "14155550111", "via QR")
    body = json.dumps(build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "via Cloud"})])).encode()
    assert app.test_client().post(f"/webhooks/cloud/{cloud_channel.webhook_token}", data=body,
                                  headers={"X-Hub-Signature-256": sign_payload(APP_SECRET, body)}).status_code == 200
    # A cloud body posted to the QR tenant's gateway URL is refused (wrong instance).
    assert app.test_client().post(f"/webhooks/gateway/{qr_channel.webhook_token}", data=body,
                                  content_type="application/json").status_code == 403
    run_jobs()
    assert [m.body for m in messages_of(app, qr_tenant.tenant_id)] == ["via QR"]
    assert [m.body for m in messages_of(app, cloud_user.tenant_id)] == ["via Cloud"]
