"""Parse Evolution API v2 webhook bodies into provider-neutral events.

Every body is `{"event", "instance", "data", "date_time", "sender", ...}`; `data`
carries Baileys' message objects (`key`, `message`, `messageTimestamp`, ...). `date_time`
is the gateway's local clock labelled as UTC, so no time is taken from it.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from core.enums import MessageStatus

from .base import ConnectionEvent, ConnectionState, Event, InboundMessage, Media, StatusUpdate
from .cloud_webhook import contacts_summary, location_summary

log = logging.getLogger(__name__)

STATE_MAP = {
    "open": ConnectionState.CONNECTED,
    "connecting": ConnectionState.PENDING,
    "close": ConnectionState.DISCONNECTED,
    "refused": ConnectionState.EXPIRED,   # QR limit reached without a scan
}
# Baileys' WebMessageInfo status enum, as names and as numbers.
ACK_MAP = {
    "ERROR": MessageStatus.FAILED, "0": MessageStatus.FAILED,
    "SERVER_ACK": MessageStatus.SENT, "2": MessageStatus.SENT,
    "DELIVERY_ACK": MessageStatus.DELIVERED, "3": MessageStatus.DELIVERED,
    "READ": MessageStatus.READ, "4": MessageStatus.READ,
    "PLAYED": MessageStatus.READ, "5": MessageStatus.READ,
}
MEDIA_KEYS = {
    "imageMessage": "image", "documentMessage": "document", "audioMessage": "audio",
    "videoMessage": "video", "stickerMessage": "sticker",
}
# Chats that are not one customer: groups, broadcast lists, status stories, channels.
NON_PERSONAL_SUFFIXES = ("@g.us", "@broadcast", "@newsletter")
# What the gateway needs to download and decrypt an inbound file again; the rest of the
# Baileys media object (thumbnails, waveforms, context) is left out of the stored copy.
DOWNLOAD_FIELDS = ("url", "directPath", "mediaKey", "mediaKeyTimestamp", "mimetype", "fileLength",
                   "fileSha256", "fileEncSha256", "fileName", "caption", "ptt", "seconds", "height", "width")


def parse_gateway_webhook(payload: dict[str, Any], instance_name: str) -> list[Event]:
    """Return the events in an Evolution webhook body sent for `instance_name`."""
    if not isinstance(payload, dict):
        return []
    if payload.get("instance") != instance_name:
        # Shared gateways post every instance's traffic; only ours may enter this tenant.
        log.warning("Ignoring gateway webhook for instance %r (expected %r)",
                    payload.get("instance"), instance_name)
        return []
    event = str(payload.get("event") or "").lower().replace("_", ".")
    data = payload.get("data")
    if event == "qrcode.updated":
        return _qrcode(data)
    if event == "connection.update":
        return _connection(data)
    items = data if isinstance(data, list) else [data]
    if event == "messages.upsert":
        return [m for m in (_message(item) for item in items) if m is not None]
    if event == "messages.update":
        # Receipts carry no time of their own; ours is the one to trust (the pipeline also
        # caps it at the moment the delivery was received).
        when = datetime.now(UTC)
        return [s for s in (_status(item, when) for item in items) if s is not None]
    log.debug("Ignoring gateway event %r", event)
    return []


def _qrcode(data: Any) -> list[Event]:
    code = _get(_get(data, "qrcode"), "code")
    if code:
        return [ConnectionEvent(ConnectionState.PENDING, qr=str(code))]
    # Without a code the gateway is saying the QR limit was reached.
    return [ConnectionEvent(ConnectionState.EXPIRED)]


def _connection(data: Any) -> list[Event]:
    raw = str(_get(data, "state") or "")
    state = STATE_MAP.get(raw)
    if state is None:
        log.debug("Ignoring gateway connection state %r", raw)
        return []
    wuid = _get(data, "wuid")
    return [ConnectionEvent(state, phone_number=jid_to_wa_id(wuid) if wuid else None,
                            profile_name=_get(data, "profileName"))]


def _message(data: Any) -> InboundMessage | None:
    key = _get(data, "key") or {}
    if not isinstance(key, dict) or not key.get("id") or key.get("fromMe"):
        return None   # our own sends come back as upserts too
    jid = str(key.get("remoteJid") or "")
    if jid.endswith("@lid"):
        # Privacy ids hide the phone; newer gateways add the real jid alongside.
        jid = str(key.get("senderPn") or key.get("remoteJidAlt") or "")
    if not jid or jid.endswith(NON_PERSONAL_SUFFIXES) or "@" not in jid:
        return None
    message = _get(data, "message") or {}
    fields = _content(message if isinstance(message, dict) else {}, _get(data, "messageType"))
    if fields.get("media") is not None and "media_base64" not in fields["payload"]:
        fields["payload"]["gateway_message"] = _download_reference(key, message)
    context = _get(data, "contextInfo") or _find_context(message)
    if fields.get("context_message_id") is None and isinstance(context, dict):
        fields["context_message_id"] = context.get("stanzaId")
    return InboundMessage(provider_message_id=str(key["id"]), wa_id=jid_to_wa_id(jid),
                          timestamp=_unix(_get(data, "messageTimestamp")),
                          profile_name=_get(data, "pushName") or None, **fields)


def _content(message: dict[str, Any], message_type: Any) -> dict[str, Any]:
    if "documentWithCaptionMessage" in message:
        inner = _get(_get(message["documentWithCaptionMessage"], "message"), "documentMessage")
        message = {**message, "documentMessage": inner or {}}
    if message.get("conversation"):
        return {"type": "text", "text": message["conversation"]}
    if "extendedTextMessage" in message:
        return {"type": "text", "text": _get(message["extendedTextMessage"], "text")}
    for media_key, kind in MEDIA_KEYS.items():
        body = message.get(media_key)
        if isinstance(body, dict):
            return _media(kind, body, message.get("base64"))
    if isinstance(message.get("locationMessage"), dict):
        loc = message["locationMessage"]
        payload = {"latitude": loc.get("degreesLatitude"), "longitude": loc.get("degreesLongitude"),
                   "name": loc.get("name"), "address": loc.get("address")}
        payload = {k: v for k, v in payload.items() if v is not None}
        return {"type": "location", "text": location_summary(payload), "payload": payload}
    cards = _contact_cards(message)
    if cards is not None:
        summary = contacts_summary([{"name": {"formatted_name": c["name"]}} for c in cards])
        return {"type": "contacts", "text": summary, "payload": {"contacts": cards}}
    if isinstance(message.get("reactionMessage"), dict):
        reaction = message["reactionMessage"]
        emoji = reaction.get("text") or ""
        return {"type": "reaction", "text": emoji or None,
                "context_message_id": _get(reaction.get("key"), "id"),
                "payload": {"emoji": emoji, "removed": not emoji}}
    return _replies(message) or {"type": "unsupported",
                                 "payload": {"original_type": message_type or next(iter(message), None)}}


def _media(kind: str, body: dict[str, Any], base64_data: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if base64_data:
        # Baileys URLs point at encrypted blobs; the gateway's base64 copy is the usable one.
        payload["media_base64"] = base64_data
    if kind == "audio" and body.get("ptt") is not None:
        payload["voice"] = bool(body.get("ptt"))
    caption = body.get("caption")
    filename = (body.get("fileName") or body.get("title")) if kind == "document" else None
    media = Media(url=body.get("url"), mime_type=body.get("mimetype"), filename=filename,
                  sha256=body.get("fileSha256") if isinstance(body.get("fileSha256"), str) else None,
                  caption=caption)
    return {"type": kind, "text": caption, "media": media, "payload": payload}


def _download_reference(key: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """The `{key, message}` the gateway's getBase64FromMediaMessage takes to fetch this file."""
    if "documentWithCaptionMessage" in message:
        message = {"documentMessage": _get(_get(message["documentWithCaptionMessage"], "message"),
                                           "documentMessage") or {}}
    trimmed = {}
    for media_key in MEDIA_KEYS:
        body = message.get(media_key)
        if isinstance(body, dict):
            trimmed[media_key] = {k: v for k, v in body.items() if k in DOWNLOAD_FIELDS}
            break
    return {"key": {k: key[k] for k in ("remoteJid", "fromMe", "id", "participant") if k in key},
            "message": trimmed}


def _contact_cards(message: dict[str, Any]) -> list[dict[str, Any]] | None:
    if isinstance(message.get("contactMessage"), dict):
        raw = [message["contactMessage"]]
    elif isinstance(_get(message.get("contactsArrayMessage"), "contacts"), list):
        raw = message["contactsArrayMessage"]["contacts"]
    else:
        return None
    return [{"name": c.get("displayName") or "Unnamed contact", "vcard": c.get("vcard")}
            for c in raw if isinstance(c, dict)]


def _replies(message: dict[str, Any]) -> dict[str, Any] | None:
    buttons = message.get("buttonsResponseMessage")
    if isinstance(buttons, dict):
        return {"type": "interactive", "text": buttons.get("selectedDisplayText"),
                "payload": {"interactive_type": "button_reply", "id": buttons.get("selectedButtonId"),
                            "title": buttons.get("selectedDisplayText")}}
    listed = message.get("listResponseMessage")
    if isinstance(listed, dict):
        row = _get(_get(listed, "singleSelectReply"), "selectedRowId")
        return {"type": "interactive", "text": listed.get("title"),
                "payload": {"interactive_type": "list_reply", "id": row, "title": listed.get("title")}}
    template = message.get("templateButtonReplyMessage")
    if isinstance(template, dict):
        return {"type": "button", "text": template.get("selectedDisplayText"),
                "payload": {"payload": template.get("selectedId")}}
    return None


def _find_context(message: Any) -> dict[str, Any] | None:
    for body in (message.values() if isinstance(message, dict) else ()):
        context = _get(body, "contextInfo")
        if isinstance(context, dict):
            return context
    return None


def _status(data: Any, when: datetime) -> StatusUpdate | None:
    if not isinstance(data, dict):
        return None
    key = data.get("key") if isinstance(data.get("key"), dict) else {}
    if data.get("fromMe", key.get("fromMe")) is False:
        return None   # receipts for messages the customer sent us
    message_id = data.get("keyId") or key.get("id")
    raw = data.get("status", _get(data.get("update"), "status"))
    status = ACK_MAP.get(str(raw).upper()) if raw is not None else None
    if not message_id or status is None:
        return None
    jid = str(data.get("remoteJid") or key.get("remoteJid") or "")
    return StatusUpdate(provider_message_id=str(message_id), status=status, timestamp=when,
                        recipient_wa_id=jid_to_wa_id(jid) if "@s.whatsapp.net" in jid else None,
                        error_code="gateway_error" if status == MessageStatus.FAILED else None)


def jid_to_wa_id(jid: str) -> str:
    """'15551234567:12@s.whatsapp.net' -> '15551234567' (digits before '@', no device)."""
    user = str(jid).split("@", 1)[0].split(":", 1)[0]
    return "".join(ch for ch in user if ch.isdigit())


def _unix(value: Any) -> datetime:
    if isinstance(value, dict):  # protobuf Long serialised as {"low", "high"}
        value = (int(value.get("high") or 0) << 32) + (int(value.get("low") or 0) & 0xFFFFFFFF)
    try:
        return datetime.fromtimestamp(int(str(value).strip()), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None
