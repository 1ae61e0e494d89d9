"""GatewayProvider against the fake Evolution gateway over real loopback HTTP."""
from __future__ import annotations

import httpx
import pytest

from tests.fakes import FakeGateway
from whatsapp.base import (ChannelError, ConnectionEvent, ConnectionState, ErrorAction,
                           InboundMessage, RecipientError, RetryableError, StatusUpdate)
from whatsapp.gateway import WEBHOOK_EVENTS, GatewayProvider

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
                            "webhook": {"url": f"{sink.url}/webhooks/gateway", "byEvents": False,
                                        "base64": True, "events": WEBHOOK_EVENTS}}
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
