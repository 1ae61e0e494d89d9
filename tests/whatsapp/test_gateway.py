"""GatewayProvider against the fake Evolution gateway over real loopback HTTP."""
from __future__ import annotations

import base64
import secrets

import httpx
import pytest

from tests.fakes import FakeGateway
from tests.fakes.gateway import is_url
from whatsapp.base import (
    ChannelError,
    ConnectionEvent,
    ConnectionState,
    ErrorAction,
    InboundMessage,
    MaybeSent,
    RecipientError,
    RetryableError,
    StatusUpdate,
)
from whatsapp.gateway import INLINE_MEDIA_MAX, WEBHOOK_EVENTS, GatewayProvider, media_url_accepted

from .conftest import GATEWAY_KEY, INSTANCE

CUSTOMER = "5511987654321"


@pytest.fixture
def linked(gw, gateway):
    """An instance created through the adapter and scanned on the (simulated) phone."""
    gw.create_instance()
    gateway.simulate_scan(INSTANCE, number="15557654321", name="Clinic Phone")
    return gw


def test_create_instance_registers_webhook_and_returns_token(gw, gateway, sink):
    token = gw.create_instance()

    request = gateway.last("POST", "/instance/create")
    assert request.headers["apikey"] == GATEWAY_KEY
    assert request.json == {"instanceName": INSTANCE, "integration": "WHATSAPP-BAILEYS", "qrcode": True,
                            "webhook": {"enabled": True, "url": f"{sink.url}/webhooks/gateway", "byEvents": False,
                                        "base64": False, "events": WEBHOOK_EVENTS}}
    assert WEBHOOK_EVENTS == ["QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT", "MESSAGES_UPDATE"]
    assert token == gateway.instances[INSTANCE].token and gw.instance_token == token


def test_instance_token_is_used_for_instance_calls(gw, gateway):
    token = gw.create_instance()
    gw.connect()
    assert gateway.last("GET", "/instance/connect/").headers["apikey"] == token


def test_create_twice_is_a_channel_error(gw):
    gw.create_instance()
    with pytest.raises(ChannelError) as info:
        gw.create_instance()
    assert "already exists" in info.value.message


def test_connect_returns_raw_qr_and_rotates_it(gw, gateway):
    gw.create_instance()
    first = gw.connect()
    second = gw.connect()
    assert first.state is ConnectionState.PENDING and second.state is ConnectionState.PENDING
    assert first.qr.startswith("2@") and second.qr.startswith("2@")
    assert first.qr != second.qr
    assert second.qr == gateway.instances[INSTANCE].qr_code


def test_qr_rotation_webhook_parses_to_pending_event(gw, gateway, sink):
    gw.create_instance()
    gateway.webhook_on_rotation = True
    result = gw.connect()
    [payload] = sink.payloads("qrcode.updated")
    assert gw.parse_webhook(payload) == [ConnectionEvent(ConnectionState.PENDING, qr=result.qr)]


def test_scan_flips_status_and_sends_connection_update(gw, gateway, sink):
    gw.create_instance()
    assert gw.status().state is ConnectionState.PENDING

    gateway.simulate_scan(INSTANCE, number="15557654321", name="Clinic Phone")

    [payload] = sink.payloads("connection.update")
    assert payload["instance"] == INSTANCE and sink.requests[-1].path == "/webhooks/gateway"
    assert gw.parse_webhook(payload) == [ConnectionEvent(ConnectionState.CONNECTED,
                                                         phone_number="15557654321",
                                                         profile_name="Clinic Phone")]
    status = gw.status()
    assert status.state is ConnectionState.CONNECTED
    assert (status.phone_number, status.profile_name) == ("15557654321", "Clinic Phone")
    connected = gw.connect()
    assert connected.state is ConnectionState.CONNECTED and connected.qr is None
    assert connected.phone_number == "15557654321"


def test_status_after_phone_logout_is_disconnected(linked, gateway, sink):
    gateway.simulate_logout(INSTANCE)
    assert linked.status().state is ConnectionState.DISCONNECTED
    event = linked.parse_webhook(sink.payloads("connection.update")[-1])
    assert event == [ConnectionEvent(ConnectionState.DISCONNECTED)]


def test_disconnect_logs_out_then_deletes(linked, gateway):
    linked.disconnect()
    calls = [(r.method, r.path) for r in gateway.requests if r.method == "DELETE"]
    assert calls == [("DELETE", f"/instance/logout/{INSTANCE}"), ("DELETE", f"/instance/delete/{INSTANCE}")]
    assert INSTANCE not in gateway.instances


def test_disconnect_tolerates_missing_or_unlinked_instance(gw, gateway):
    gw.disconnect()                      # never created: both calls 404
    gw.create_instance()
    gw.disconnect()                      # created but never scanned: logout answers 400
    assert INSTANCE not in gateway.instances


def test_send_text(linked, gateway):
    result = linked.send_text("+55 (11) 98765-4321", "Oi! Confirmado.")
    request = gateway.last("POST", "/message/sendText/")
    assert request.path == f"/message/sendText/{INSTANCE}"
    assert request.json == {"number": CUSTOMER, "text": "Oi! Confirmado.", "linkPreview": False}
    assert result.provider_message_id == gateway.instances[INSTANCE].sent[-1]["id"]


def test_send_media_document_and_audio(linked, gateway):
    linked.send_media(CUSTOMER, "document", link="https://cdn.example.com/files/quote.pdf",
                      caption="Your quote", filename="quote.pdf")
    assert gateway.last("POST", "/message/sendMedia/").json == {
        "number": CUSTOMER, "mediatype": "document", "media": "https://cdn.example.com/files/quote.pdf",
        "mimetype": "application/pdf", "caption": "Your quote", "fileName": "quote.pdf"}

    result = linked.send_media(CUSTOMER, "audio", link="https://cdn.example.com/a.ogg")
    assert gateway.last("POST").path == f"/message/sendWhatsAppAudio/{INSTANCE}"
    assert result.provider_message_id == gateway.instances[INSTANCE].sent[-1]["id"]


def test_send_media_requires_link(linked, gateway):
    with pytest.raises(RecipientError):
        linked.send_media(CUSTOMER, "image", media_id="123")
    assert not any(r.path.startswith("/message/") for r in gateway.requests)


def test_templates_are_cloud_only(linked):
    with pytest.raises(RecipientError, match="only available on the Cloud API"):
        linked.send_template(CUSTOMER, "hello_world", "en_US")


def test_number_not_on_whatsapp_fails_the_message(linked, gateway):
    gateway.not_on_whatsapp.add(CUSTOMER)
    with pytest.raises(RecipientError) as info:
        linked.send_text(CUSTOMER, "hi")
    assert info.value.message == "This number is not on WhatsApp" and info.value.http_status == 400


def test_gateway_down_is_retryable(linked, gateway):
    gateway.go_down("refuse")
    # A kept-alive connection dropped unanswered: the gateway may have taken the send, so it is not retried...
    with pytest.raises(MaybeSent):
        linked.send_text(CUSTOMER, "hi")
    # ...while a refused connection means nothing left: retryable.
    with pytest.raises(RetryableError) as info:
        linked.send_text(CUSTOMER, "hi")
    assert info.value.message == f"WhatsApp gateway unreachable at {gateway.url}"
    gateway.come_up()
    gateway.go_down("error")
    with pytest.raises(RetryableError) as info:
        linked.status()
    assert info.value.http_status == 500 and gateway.url in info.value.message
    gateway.come_up()
    assert linked.status().state is ConnectionState.CONNECTED


def test_gateway_timeout_is_retryable():
    with FakeGateway(GATEWAY_KEY, latency=0.4) as slow, httpx.Client(timeout=httpx.Timeout(0.1)) as client:
        provider = GatewayProvider(slow.url, GATEWAY_KEY, INSTANCE, client=client)
        with pytest.raises(RetryableError) as info:
            provider.status()
    assert info.value.code == "timeout" and slow.url in info.value.message


def test_gateway_send_timeout_may_have_sent():
    with FakeGateway(GATEWAY_KEY, latency=0.4) as slow, httpx.Client(timeout=httpx.Timeout(0.1)) as client:
        provider = GatewayProvider(slow.url, GATEWAY_KEY, INSTANCE, client=client)
        with pytest.raises(MaybeSent) as info:
            provider.send_text("15551234567", "hi")
    assert info.value.action is ErrorAction.UNKNOWN and "may have been received" in info.value.message


def test_wrong_api_key_pauses_channel(gateway, http_client):
    provider = GatewayProvider(gateway.url, "not-the-key", INSTANCE, client=http_client)
    with pytest.raises(ChannelError) as info:
        provider.create_instance()
    assert info.value.action is ErrorAction.PAUSE_CHANNEL
    assert info.value.message.startswith("Gateway API key rejected") and info.value.http_status == 401
    assert "not-the-key" not in str(info.value)


def test_missing_instance_is_a_channel_error(gw):
    with pytest.raises(ChannelError) as info:
        gw.status()
    assert info.value.http_status == 404 and INSTANCE in info.value.message


def test_injected_429_is_retryable(linked, gateway):
    gateway.fail_next(429, retry_after=3)
    with pytest.raises(RetryableError) as info:
        linked.send_text(CUSTOMER, "hi")
    assert info.value.retry_after == pytest.approx(3.0)


# -- webhooks -------------------------------------------------------------------


def test_inbound_text_round_trip(linked, gateway, sink):
    gateway.post_inbound(INSTANCE, CUSTOMER, "Quero remarcar", push_name="Bia", message_id="3EB0AAA")
    [payload] = sink.payloads("messages.upsert")
    [msg] = linked.parse_webhook(payload)
    assert isinstance(msg, InboundMessage)
    assert (msg.provider_message_id, msg.wa_id, msg.profile_name, msg.type, msg.text) == \
        ("3EB0AAA", CUSTOMER, "Bia", "text", "Quero remarcar")
    assert msg.timestamp.tzinfo is not None


def test_delivery_receipts_round_trip(linked, gateway, sink):
    sent = linked.send_text(CUSTOMER, "hi")
    for ack in ("SERVER_ACK", "DELIVERY_ACK", "READ", "ERROR"):
        gateway.post_status(INSTANCE, sent.provider_message_id, ack, to_number=CUSTOMER)
    events = [e for p in sink.payloads("messages.update") for e in linked.parse_webhook(p)]
    assert [e.status for e in events] == ["sent", "delivered", "read", "failed"]
    assert all(isinstance(e, StatusUpdate) and e.provider_message_id == sent.provider_message_id
               and e.recipient_wa_id == CUSTOMER for e in events)


def test_webhook_for_another_instance_is_ignored(linked, gateway, sink, caplog):
    gateway.post_inbound(INSTANCE, CUSTOMER, "hello")
    payload = dict(sink.payloads("messages.upsert")[0], instance="someone-else")
    other = GatewayProvider(gateway.url, GATEWAY_KEY, "someone-else")
    assert linked.parse_webhook(payload) == []
    assert "someone-else" in caplog.text
    assert len(other.parse_webhook(payload)) == 1


def test_sends_are_not_echoed_back_as_webhooks(linked, gateway, sink):
    linked.send_text(CUSTOMER, "hi")
    linked.send_media(CUSTOMER, "image", link="https://cdn.example.com/p.png")
    assert len(gateway.instances[INSTANCE].sent) == 2
    assert sink.payloads("send.message") == []


# -- webhook URL ----------------------------------------------------------------


def test_set_webhook_moves_the_instance_to_a_new_url(linked, gateway, sink, http_client):
    moved = GatewayProvider(gateway.url, GATEWAY_KEY, INSTANCE, instance_token=linked.instance_token,
                            webhook_url=f"{sink.url}/webhooks/gateway/new", client=http_client)
    moved.set_webhook()

    request = gateway.last("POST", "/webhook/set/")
    assert request.path == f"/webhook/set/{INSTANCE}" and request.headers["apikey"] == linked.instance_token
    assert request.json == {"webhook": {"enabled": True, "url": f"{sink.url}/webhooks/gateway/new",
                                        "byEvents": False, "base64": False, "events": WEBHOOK_EVENTS}}
    gateway.post_inbound(INSTANCE, CUSTOMER, "still here?")
    assert sink.requests[-1].path == "/webhooks/gateway/new"


def test_set_webhook_refused_or_not_stored_raises(linked, gateway):
    gateway.fail_next(400, message=['webhook requires property "url"'])
    with pytest.raises(RecipientError):
        linked.set_webhook()
    gateway.fail_next(200, message="OK")   # an answer that is not the stored webhook
    with pytest.raises(ChannelError) as info:
        linked.set_webhook()
    assert info.value.code == "webhook_not_set"
    gateway.fail_next(500)
    with pytest.raises(RetryableError):
        linked.set_webhook()


# -- inbound media ----------------------------------------------------------------


def test_large_inbound_video_is_fetched_through_the_gateway(linked, gateway, sink):
    video = secrets.token_bytes(10 * 1024 * 1024)
    gateway.post_inbound_media(INSTANCE, CUSTOMER, "video", video, mimetype="video/mp4", caption="o vazamento")

    [request] = [r for r in sink.requests if r.json and r.json["event"] == "messages.upsert"]
    assert len(request.body) < 20_000   # the file is not in the webhook
    [msg] = linked.parse_webhook(request.json)
    assert (msg.type, msg.text) == ("video", "o vazamento")
    data, mime = linked.download_media(msg.payload["gateway_message"])
    assert data == video and mime == "video/mp4"
    call = gateway.last("POST", "/chat/getBase64FromMediaMessage/")
    assert call.path == f"/chat/getBase64FromMediaMessage/{INSTANCE}"
    assert call.headers["apikey"] == linked.instance_token


def test_inbound_media_the_gateway_cannot_fetch_fails_the_download(linked, gateway, sink):
    gateway.post_inbound_media(INSTANCE, CUSTOMER, "image", b"\xff\xd8 photo", mimetype="image/jpeg")
    [msg] = linked.parse_webhook(sink.payloads("messages.upsert")[-1])
    reference = msg.payload["gateway_message"]
    reference["message"]["imageMessage"]["mediaKey"] = {"0": 1, "1": 2}
    with pytest.raises(RecipientError) as info:
        linked.download_media(reference)
    assert "could not fetch the file" in info.value.message


# -- outbound media ---------------------------------------------------------------


def test_small_files_of_ours_go_inline(gateway, sink, http_client):
    files = {"https://crm.example.com/m/tok": b"%PDF-1.4 quote"}
    provider = GatewayProvider(gateway.url, GATEWAY_KEY, INSTANCE, webhook_url=f"{sink.url}/webhooks/gateway",
                               read_media=lambda link, limit: files.get(link), client=http_client)
    provider.create_instance()
    gateway.simulate_scan(INSTANCE)
    provider.send_media(CUSTOMER, "document", link="https://crm.example.com/m/tok", filename="quote.pdf")
    body = gateway.last("POST", "/message/sendMedia/").json
    assert base64.b64decode(body["media"]) == b"%PDF-1.4 quote" and body["fileName"] == "quote.pdf"
    provider.send_media(CUSTOMER, "audio", link="https://crm.example.com/m/tok")
    assert base64.b64decode(gateway.last("POST", "/message/sendWhatsAppAudio/").json["audio"]) == b"%PDF-1.4 quote"


def test_documents_always_carry_a_file_name(linked, gateway):
    linked.send_media(CUSTOMER, "document", link="https://crm.example.com/files/quote.pdf?sig=1")
    assert gateway.last("POST", "/message/sendMedia/").json["fileName"] == "document.pdf"


@pytest.mark.parametrize("base", ["http://localhost:5000", "http://app:5000", "http://messagehub_web"])
def test_links_the_gateway_would_refuse_fail_before_sending(linked, gateway, base):
    with pytest.raises(RecipientError) as info:
        linked.send_media(CUSTOMER, "image", link=f"{base}/m/token")
    assert info.value.code == "media_link_refused" and "PUBLIC_BASE_URL" in info.value.message
    assert not any(r.path.startswith("/message/") for r in gateway.requests)


@pytest.mark.parametrize("url", [
    "https://crm.example.com/m/x", "http://127.0.0.1:5000/m/x", "http://[::1]:5000/m/x", "http://10.0.0.5/m/x",
    "http://localhost:5000/m/x", "http://app:5000/m/x", "http://my_app.example.com/m/x", "http://example.123/m/x",
    "https://xn--bcher-kva.example/m/x", "http://-bad.example.com/m/x", "ftp://files.example.org/a",
    "file:///etc/passwd", "http://crm.example.com:99999/m/x", "http://crm.example.com./m/x",
])
def test_media_url_check_agrees_with_evolution(url):
    assert media_url_accepted(url) == is_url(url)


def test_large_files_of_ours_still_go_as_links(gateway, sink, http_client):
    asked = []
    provider = GatewayProvider(gateway.url, GATEWAY_KEY, INSTANCE, webhook_url=f"{sink.url}/webhooks/gateway",
                               read_media=lambda link, limit: asked.append(limit), client=http_client)
    provider.create_instance()
    gateway.simulate_scan(INSTANCE)
    provider.send_media(CUSTOMER, "video", link="https://crm.example.com/m/big")
    assert gateway.last("POST", "/message/sendMedia/").json["media"] == "https://crm.example.com/m/big"
    assert asked == [INLINE_MEDIA_MAX]


# -- the fake keeps the real server's habits --------------------------------------------


def test_unknown_instance_is_404_before_the_key_is_checked(gateway, http_client):
    response = http_client.get(f"{gateway.url}/instance/connectionState/nobody", headers={"apikey": "wrong"})
    assert response.status_code == 404
    assert response.json()["response"]["message"] == ['The "nobody" instance does not exist']


def test_deleting_a_linked_instance_logs_it_out_first(linked, gateway, http_client):
    response = http_client.delete(f"{gateway.url}/instance/delete/{INSTANCE}", headers={"apikey": GATEWAY_KEY})
    assert response.status_code == 200 and INSTANCE not in gateway.instances


def test_events_outside_the_subscription_are_not_posted(linked, gateway, sink):
    gateway.simulate_connecting(INSTANCE)
    assert sink.payloads("connection.update")[-1]["data"]["state"] == "connecting"
    gateway.instances[INSTANCE].webhook["events"] = ["MESSAGES_UPSERT"]
    gateway.simulate_connecting(INSTANCE)
    assert [p["data"]["state"] for p in sink.payloads("connection.update")] == ["open", "connecting"]
