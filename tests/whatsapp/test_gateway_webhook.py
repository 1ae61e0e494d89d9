"""GatewayProvider.parse_webhook on Evolution v2 webhook bodies of every supported kind."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from whatsapp.base import ConnectionEvent, ConnectionState, InboundMessage, StatusUpdate
from whatsapp.gateway import GatewayProvider

from .conftest import INSTANCE

TS = 1_717_171_717
WHEN = datetime(2024, 5, 31, 16, 8, 37, tzinfo=UTC)
JID = "5511987654321@s.whatsapp.net"


@pytest.fixture
def provider():
    """Parsing needs no network; the base URL is never contacted."""
    return GatewayProvider("http://127.0.0.1:9", "key", INSTANCE)


def envelope(event: str, data, instance: str = INSTANCE) -> dict:
    """The outer body Evolution POSTs for every event."""
    return {"event": event, "instance": instance, "data": data, "destination": "http://app/webhooks",
            "date_time": "2024-05-31T16:08:37.000Z", "sender": "15557654321@s.whatsapp.net",
            "server_url": "http://gateway:8080", "apikey": "INSTANCE-TOKEN"}


def upsert(message: dict, *, jid: str = JID, from_me: bool = False, msg_id: str = "3EB0MSG",
           message_type: str = "conversation", **extra) -> dict:
    """A messages.upsert body carrying one Baileys message."""
    data = {"key": {"remoteJid": jid, "fromMe": from_me, "id": msg_id}, "pushName": "Bia",
            "message": message, "messageType": message_type, "messageTimestamp": TS, **extra}
    return envelope("messages.upsert", data)


def parse_one(provider, body) -> InboundMessage:
    """Parse a body that must yield exactly one inbound message."""
    events = provider.parse_webhook(body)
    assert len(events) == 1 and isinstance(events[0], InboundMessage)
    return events[0]


def test_extended_text_with_quoted_context(provider):
    msg = parse_one(provider, upsert({"extendedTextMessage": {
        "text": "sobre isso", "contextInfo": {"stanzaId": "3EB0QUOTED", "participant": JID}}},
        message_type="extendedTextMessage"))
    assert (msg.type, msg.text, msg.context_message_id) == ("text", "sobre isso", "3EB0QUOTED")
    assert (msg.wa_id, msg.profile_name, msg.timestamp) == ("5511987654321", "Bia", WHEN)


@pytest.mark.parametrize("key, kind, body", [
    ("imageMessage", "image", {"url": "https://mmg.whatsapp.net/i.enc", "mimetype": "image/jpeg",
                               "caption": "foto", "fileSha256": "c2hh"}),
    ("videoMessage", "video", {"url": "https://mmg.whatsapp.net/v.enc", "mimetype": "video/mp4"}),
    ("audioMessage", "audio", {"url": "https://mmg.whatsapp.net/a.enc", "mimetype": "audio/ogg; codecs=opus",
                               "ptt": True}),
    ("stickerMessage", "sticker", {"url": "https://mmg.whatsapp.net/s.enc", "mimetype": "image/webp"}),
    ("documentMessage", "document", {"url": "https://mmg.whatsapp.net/d.enc", "mimetype": "application/pdf",
                                     "fileName": "exame.pdf", "caption": "resultado"}),
])
def test_media_messages_carry_base64(provider, key, kind, body):
    msg = parse_one(provider, upsert({key: body, "base64": "QUJD"}, message_type=key))
    assert msg.type == kind
    assert msg.media.url == body["url"] and msg.media.mime_type == body["mimetype"]
    assert msg.media.caption == body.get("caption") and msg.text == body.get("caption")
    assert msg.media.filename == body.get("fileName")
    assert msg.payload["media_base64"] == "QUJD"
    if kind == "audio":
        assert msg.payload["voice"] is True


def test_media_without_base64_keeps_what_the_gateway_needs_to_fetch_it(provider):
    key = {"remoteJid": JID, "fromMe": False, "id": "3EB0VID"}
    video = {"url": "https://mmg.whatsapp.net/v/t62.7161-24/1.enc?ccb=11-4", "mimetype": "video/mp4",
             "caption": "o vazamento", "mediaKey": {"0": 12, "1": 200}, "directPath": "/v/t62.7161-24/1.enc",
             "fileLength": {"low": 10485760, "high": 0, "unsigned": True}, "seconds": 31,
             "jpegThumbnail": {str(i): 7 for i in range(500)}, "contextInfo": {"forwardingScore": 1}}
    body = upsert({"videoMessage": video}, message_type="videoMessage", msg_id="3EB0VID")
    msg = parse_one(provider, body)
    assert msg.type == "video" and msg.text == "o vazamento" and "media_base64" not in msg.payload
    kept = {k: v for k, v in video.items() if k not in ("jpegThumbnail", "contextInfo")}
    assert msg.payload["gateway_message"] == {"key": key, "message": {"videoMessage": kept}}


def test_document_with_caption_is_fetched_as_a_plain_document(provider):
    inner = {"url": "https://mmg.whatsapp.net/d.enc", "mimetype": "application/pdf", "fileName": "laudo.pdf",
             "mediaKey": "a2V5", "directPath": "/d.enc", "caption": "segue"}
    msg = parse_one(provider, upsert({"documentWithCaptionMessage": {"message": {"documentMessage": inner}}},
                                     message_type="documentWithCaptionMessage"))
    assert msg.type == "document" and msg.media.filename == "laudo.pdf"
    assert msg.payload["gateway_message"]["message"] == {"documentMessage": inner}


def test_receipt_time_is_ours_not_the_gateways_local_clock(provider):
    # Evolution prints its local time with a "Z": three hours early on a server in São Paulo.
    body = envelope("messages.update", {"keyId": "3EB0OUT", "remoteJid": JID, "fromMe": True, "status": "READ"})
    body["date_time"] = (datetime.now(UTC) - timedelta(hours=3)).isoformat(timespec="milliseconds")[:-6] + "Z"
    [update] = provider.parse_webhook(body)
    assert abs(update.timestamp - datetime.now(UTC)) < timedelta(seconds=5)


def test_location_contact_and_reaction(provider):
    loc = parse_one(provider, upsert({"locationMessage": {"degreesLatitude": -23.55, "degreesLongitude": -46.63,
                                                          "name": "Clinica", "address": "Av. Paulista"}}))
    assert loc.type == "location"
    assert loc.payload == {"latitude": -23.55, "longitude": -46.63, "name": "Clinica", "address": "Av. Paulista"}
    assert "Clinica" in loc.text

    card = parse_one(provider, upsert({"contactMessage": {"displayName": "Dr. Rui",
                                                          "vcard": "BEGIN:VCARD\nFN:Dr. Rui\nEND:VCARD"}}))
    assert card.type == "contacts" and card.text == "Shared contact: Dr. Rui"
    assert card.payload["contacts"][0]["vcard"].startswith("BEGIN:VCARD")

    reaction = parse_one(provider, upsert({"reactionMessage": {
        "key": {"remoteJid": JID, "fromMe": True, "id": "3EB0OURS"}, "text": "\u2764\ufe0f"}}))
    assert reaction.type == "reaction" and reaction.text == "\u2764\ufe0f"
    assert reaction.context_message_id == "3EB0OURS"


def test_unknown_message_kind_is_unsupported(provider):
    msg = parse_one(provider, upsert({"pollCreationMessage": {"name": "?"}}, message_type="pollCreationMessage"))
    assert msg.type == "unsupported" and msg.payload["original_type"] == "pollCreationMessage"


@pytest.mark.parametrize("jid, from_me", [
    (JID, True),                                   # our own send echoed back
    ("120363041967849074@g.us", False),            # group chat
    ("status@broadcast", False),                   # status story
])
def test_own_group_and_broadcast_messages_are_skipped(provider, jid, from_me):
    assert provider.parse_webhook(upsert({"conversation": "x"}, jid=jid, from_me=from_me)) == []


def test_lid_sender_uses_phone_jid_when_present(provider):
    body = upsert({"conversation": "oi"}, jid="123456789012345@lid")
    body["data"]["key"]["senderPn"] = JID
    assert parse_one(provider, body).wa_id == "5511987654321"
    body = upsert({"conversation": "oi"}, jid="123456789012345@lid")
    body["data"]["key"].update(remoteJidAlt=JID, addressingMode="lid")   # v2.3 with Baileys 7
    assert parse_one(provider, body).wa_id == "5511987654321"
    assert provider.parse_webhook(upsert({"conversation": "oi"}, jid="123456789012345@lid")) == []


def test_message_timestamp_as_string_or_long(provider):
    assert parse_one(provider, upsert({"conversation": "a"}, messageTimestamp=str(TS))).timestamp == WHEN
    body = upsert({"conversation": "b"})
    body["data"]["messageTimestamp"] = {"low": TS, "high": 0, "unsigned": True}
    assert parse_one(provider, body).timestamp == WHEN


@pytest.mark.parametrize("raw, expected", [
    ("SERVER_ACK", "sent"), ("DELIVERY_ACK", "delivered"), ("READ", "read"), ("PLAYED", "read"),
    ("ERROR", "failed"), (2, "sent"), (3, "delivered"), (4, "read"), (0, "failed"),
])
def test_status_values(provider, raw, expected):
    body = envelope("messages.update", {"messageId": "x", "keyId": "3EB0OUT", "remoteJid": JID,
                                        "fromMe": True, "status": raw})
    [update] = provider.parse_webhook(body)
    assert update == StatusUpdate("3EB0OUT", expected, update.timestamp, recipient_wa_id="5511987654321",
                                  error_code="gateway_error" if expected == "failed" else None)
    assert abs(update.timestamp - datetime.now(UTC)) < timedelta(seconds=5)


def test_status_with_nested_key_and_pending_or_inbound_receipts(provider):
    nested = envelope("messages.update", [{"key": {"id": "3EB0K", "remoteJid": JID, "fromMe": True},
                                           "update": {"status": 3}}])
    assert [u.provider_message_id for u in provider.parse_webhook(nested)] == ["3EB0K"]
    pending = envelope("messages.update", {"keyId": "3EB0P", "remoteJid": JID, "fromMe": True, "status": "PENDING"})
    inbound = envelope("messages.update", {"keyId": "3EB0I", "remoteJid": JID, "fromMe": False, "status": "READ"})
    assert provider.parse_webhook(pending) == [] and provider.parse_webhook(inbound) == []


@pytest.mark.parametrize("data, expected", [
    ({"instance": INSTANCE, "state": "connecting", "statusReason": 200}, ConnectionEvent(ConnectionState.PENDING)),
    ({"instance": INSTANCE, "state": "close", "statusReason": 401}, ConnectionEvent(ConnectionState.DISCONNECTED)),
    ({"instance": INSTANCE, "state": "refused", "statusReason": 428}, ConnectionEvent(ConnectionState.EXPIRED)),
    ({"instance": INSTANCE, "state": "open", "wuid": "15557654321:12@s.whatsapp.net", "profileName": "Loja"},
     ConnectionEvent(ConnectionState.CONNECTED, phone_number="15557654321", profile_name="Loja")),
])
def test_connection_updates(provider, data, expected):
    assert provider.parse_webhook(envelope("connection.update", data)) == [expected]


def test_qrcode_updates_and_limit(provider):
    code = "2@abc,def,ghi,jkl"
    assert provider.parse_webhook(envelope("qrcode.updated", {"qrcode": {"instance": INSTANCE, "code": code,
                                                                         "base64": "data:..."}})) == \
        [ConnectionEvent(ConnectionState.PENDING, qr=code)]
    limit = envelope("qrcode.updated", {"message": "QR code limit reached, please login again", "statusCode": 500})
    assert provider.parse_webhook(limit) == [ConnectionEvent(ConnectionState.EXPIRED)]


def test_uppercase_event_names_and_foreign_instances(provider):
    assert len(provider.parse_webhook(dict(upsert({"conversation": "x"}), event="MESSAGES_UPSERT"))) == 1
    assert provider.parse_webhook(upsert({"conversation": "x"}) | {"instance": "other"}) == []
    assert provider.parse_webhook(envelope("send.message", {"key": {"id": "1"}})) == []
