"""QR-linked tenants against the fake gateway's real-server habits: large media, webhook moves, QR races."""
from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from extensions import db
from models import Contact
from models.tenancy import tenant_scope
from services.outbox import queue_media, queue_text
from tests.channels.helpers import channel_of, contacts_of, events_of, messages_of

CUSTOMER = "5511987654321"


@pytest.fixture
def qr_user(app, live_server, create_user, login, client):
    """A logged-in tenant who pressed "Link with QR"; webhooks reach the live server."""
    user = create_user(tenant_name="QR Co")
    login(user)
    assert client.post("/settings/whatsapp/qr").status_code == 303
    return user


@pytest.fixture
def linked_user(app, qr_user, gateway, run_jobs):
    """The same tenant after the phone scanned the QR."""
    gateway.simulate_scan(channel_of(app, qr_user.tenant_id).instance_name)
    run_jobs()
    assert channel_of(app, qr_user.tenant_id).state == "connected"
    return qr_user


def instance_of(app, user) -> str:
    return channel_of(app, user.tenant_id).instance_name


def stored_bytes(app, message) -> bytes:
    return (Path(app.instance_path) / "media" / message.media["path"]).read_bytes()


def queue_to_customer(app, user, send):
    """Queue a send to CUSTOMER inside the tenant and commit it."""
    with app.app_context(), tenant_scope(user.tenant_id):
        contact = Contact(name="Carla", phone="+" + CUSTOMER)
        db.session.add(contact)
        db.session.flush()
        send(contact)
        db.session.commit()


def status_partial(client) -> str:
    return client.get("/settings/whatsapp/status", headers={"HX-Request": "true"}).get_data(as_text=True)


# -- 1. inbound media -------------------------------------------------------------


def test_a_10_mb_video_arrives_with_its_caption(app, linked_user, gateway, run_jobs):
    name = instance_of(app, linked_user)
    video = secrets.token_bytes(10 * 1024 * 1024)
    gateway.post_inbound_media(name, CUSTOMER, "video", video, mimetype="video/mp4", caption="o vazamento")
    assert gateway.deliveries[-1][2] == 200 and gateway.instances[name].webhook["base64"] is False
    run_jobs()
    [message] = messages_of(app, linked_user.tenant_id)
    assert (message.type, message.body) == ("video", "o vazamento")
    assert message.media["size"] == len(video) and stored_bytes(app, message) == video
    assert "media_base64" not in (message.payload or {})


def test_an_instance_still_on_base64_is_moved_off_it_by_regenerate(app, client, linked_user, gateway, run_jobs):
    name = instance_of(app, linked_user)
    inst = gateway.instances[name]
    inst.webhook["base64"] = inst.loaded_base64 = True   # created by an older MessageHub
    photo = secrets.token_bytes(1024 * 1024)
    gateway.post_inbound_media(name, CUSTOMER, "image", photo, mimetype="image/jpeg")
    assert gateway.deliveries[-1][2] in (413, None)      # over the webhook route's 1 MiB: refused, then dropped
    assert client.post("/settings/whatsapp/webhook/regenerate").status_code == 303
    assert inst.webhook["base64"] is False
    gateway.simulate_connecting(name)                    # Evolution reads the flag when the session reconnects
    gateway.post_inbound_media(name, CUSTOMER, "image", photo, mimetype="image/jpeg")
    assert gateway.deliveries[-1][2] == 200
    run_jobs()
    [message] = messages_of(app, linked_user.tenant_id)
    assert stored_bytes(app, message) == photo and channel_of(app, linked_user.tenant_id).state == "connected"


def test_old_events_with_base64_still_store_the_file(app, linked_user, gateway, run_jobs):
    name = instance_of(app, linked_user)
    gateway.instances[name].loaded_base64 = True
    gateway.post_inbound_media(name, CUSTOMER, "document", b"%PDF-1.4 receipt", mimetype="application/pdf",
                               file_name="receipt.pdf")
    run_jobs()
    [message] = messages_of(app, linked_user.tenant_id)
    assert stored_bytes(app, message) == b"%PDF-1.4 receipt" and message.media["filename"] == "receipt.pdf"
    assert "media_base64" not in (message.payload or {})
    assert not any(r.path.startswith("/chat/") for r in gateway.requests)


def test_inbound_from_a_lid_chat_reaches_the_phone_contact(app, linked_user, gateway, run_jobs):
    gateway.post_inbound(instance_of(app, linked_user), CUSTOMER, "oi", lid="214748364712345")
    run_jobs()
    [contact] = contacts_of(app, linked_user.tenant_id)
    assert contact.phone == "+" + CUSTOMER
    assert [m.body for m in messages_of(app, linked_user.tenant_id)] == ["oi"]


# -- 2. regenerate ---------------------------------------------------------------


def test_regenerate_moves_the_gateway_to_the_new_url(app, client, linked_user, gateway, run_jobs, live_server):
    old = channel_of(app, linked_user.tenant_id).webhook_token
    response = client.post("/settings/whatsapp/webhook/regenerate", follow_redirects=True)
    assert "the gateway now posts to it" in response.get_data(as_text=True)
    channel = channel_of(app, linked_user.tenant_id)
    assert channel.webhook_token != old
    assert gateway.instances[channel.instance_name].webhook["url"] == \
        f"{live_server}/webhooks/gateway/{channel.webhook_token}"
    gateway.post_inbound(channel.instance_name, CUSTOMER, "after the move")
    assert gateway.deliveries[-1][2] == 200
    run_jobs()
    assert [m.body for m in messages_of(app, linked_user.tenant_id)] == ["after the move"]
    stale = {"event": "messages.upsert", "instance": channel.instance_name, "data": {}}
    assert app.test_client().post(f"/webhooks/gateway/{old}", json=stale).status_code == 404


@pytest.mark.parametrize("failure", ["refused", "down"])
def test_regenerate_the_gateway_refuses_keeps_the_old_url_working(app, client, linked_user, gateway, run_jobs,
                                                                   live_server, failure):
    channel = channel_of(app, linked_user.tenant_id)
    if failure == "refused":
        gateway.fail_next(400, message=["webhook.events[0] is not one of enum values"])
    else:
        gateway.go_down("refuse")
    response = client.post("/settings/whatsapp/webhook/regenerate")
    text = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "did not take the new webhook URL" in text and "the current URL keeps working" in text
    gateway.come_up()
    assert channel_of(app, linked_user.tenant_id).webhook_token == channel.webhook_token
    assert gateway.instances[channel.instance_name].webhook["url"] == \
        f"{live_server}/webhooks/gateway/{channel.webhook_token}"
    gateway.post_inbound(channel.instance_name, CUSTOMER, "still arriving")
    run_jobs()
    assert [m.body for m in messages_of(app, linked_user.tenant_id)] == ["still arriving"]


# -- 3. outbound media -------------------------------------------------------------


def test_media_goes_out_when_public_base_url_is_localhost(app, client, linked_user, gateway, run_jobs, live_server):
    app.config["PUBLIC_BASE_URL"] = live_server.replace("127.0.0.1", "localhost")
    queue_to_customer(app, linked_user, lambda c: queue_media(c, b"%PDF-1.4 invoice", "invoice.pdf",
                                                              "application/pdf", "Your invoice"))
    run_jobs()
    [message] = messages_of(app, linked_user.tenant_id)
    assert message.status == "sent", message.error_title
    sent = gateway.instances[instance_of(app, linked_user)].sent[-1]
    assert base64.b64decode(sent["media"]) == b"%PDF-1.4 invoice"
    assert (sent["mediatype"], sent["fileName"], sent["caption"]) == ("document", "invoice.pdf", "Your invoice")


def test_large_media_with_an_unusable_public_base_url_fails_with_the_reason(app, client, linked_user, gateway,
                                                                          run_jobs, live_server):
    app.config["PUBLIC_BASE_URL"] = live_server.replace("127.0.0.1", "localhost")
    page = client.get("/settings/whatsapp").get_data(as_text=True)
    assert 'id="media-link-problem"' in page and "PUBLIC_BASE_URL" in page
    big = b"%PDF-1.4 " + secrets.token_bytes(9 * 1024 * 1024)
    queue_to_customer(app, linked_user, lambda c: queue_media(c, big, "catalogue.pdf", "application/pdf"))
    run_jobs()
    [message] = messages_of(app, linked_user.tenant_id)
    assert message.status == "failed" and "PUBLIC_BASE_URL" in message.error_title
    assert not any(r.path.startswith("/message/") for r in gateway.requests)
    app.config["PUBLIC_BASE_URL"] = live_server
    assert 'id="media-link-problem"' not in client.get("/settings/whatsapp").get_data(as_text=True)


# -- 4. QR and connection states ---------------------------------------------------


def test_connecting_after_a_new_qr_keeps_it_on_screen(app, client, qr_user, gateway, run_jobs):
    name = instance_of(app, qr_user)
    qr = gateway.rotate_qr(name)
    gateway.simulate_connecting(name)
    run_jobs()
    channel = channel_of(app, qr_user.tenant_id)
    assert (channel.state, channel.qr_code) == ("pending", qr)
    assert 'class="qr"' in client.get("/settings/whatsapp").get_data(as_text=True)


def test_a_reconnecting_phone_stays_connected(app, client, linked_user, gateway, run_jobs):
    gateway.simulate_connecting(instance_of(app, linked_user))
    run_jobs()
    assert channel_of(app, linked_user.tenant_id).state == "connected"
    assert "WhatsApp: Connected" in client.get("/contacts/").get_data(as_text=True)


def test_qr_limit_says_why_and_offers_a_new_code(app, client, qr_user, gateway, run_jobs):
    name = instance_of(app, qr_user)
    gateway.simulate_qr_limit(name)
    run_jobs()
    assert channel_of(app, qr_user.tenant_id).state == "expired"
    partial = status_partial(client)
    assert "No QR code was scanned in time" in partial and "Show a new QR code" in partial
    assert "every 2s" not in partial
    assert client.post("/settings/whatsapp/qr").status_code == 303
    channel = channel_of(app, qr_user.tenant_id)
    assert channel.state == "pending" and channel.qr_code == gateway.instances[name].qr_code is not None


# -- 5. receipt times ---------------------------------------------------------------


def test_receipt_times_ignore_the_gateway_clock(app, linked_user, gateway, run_jobs):
    queue_to_customer(app, linked_user, lambda c: queue_text(c, "Your table is ready"))
    run_jobs()
    [message] = messages_of(app, linked_user.tenant_id)
    body = gateway.post_status(instance_of(app, linked_user), message.provider_message_id, "READ",
                               to_number=CUSTOMER)
    assert body["date_time"].endswith("Z")
    run_jobs()
    [message] = messages_of(app, linked_user.tenant_id)
    now = datetime.now(UTC)
    for stamp in (message.delivered_at, message.read_at):
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        assert abs(now - stamp) < timedelta(minutes=1)


# -- 6. no send.message echo ----------------------------------------------------------


def test_sends_do_not_come_back_as_webhook_events(app, linked_user, gateway, run_jobs):
    queue_to_customer(app, linked_user, lambda c: queue_text(c, "hello"))
    run_jobs()
    assert messages_of(app, linked_user.tenant_id)[0].status == "sent"
    assert [json.loads(e.body)["event"] for e in events_of(app, linked_user.tenant_id)] == ["connection.update"]
    assert not [d for d in gateway.deliveries if d[1]["event"] == "send.message"]
