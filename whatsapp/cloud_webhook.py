"""Parse WhatsApp Cloud API webhook bodies into provider-neutral events.

Shapes follow Meta's webhook reference for the `messages` and `user_preferences`
fields of the `whatsapp_business_account` object.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from core.enums import MessageStatus

from .base import Event, InboundMessage, Media, OptOutEvent, StatusUpdate

log = logging.getLogger(__name__)

MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
DELIVERY_STATUSES = {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED}
# A failed send with this code means the user stopped marketing messages from the business.
MARKETING_OPT_OUT_CODE = 131050


def parse_cloud_webhook(payload: dict[str, Any], phone_number_id: str) -> list[Event]:
    """Return every event in a Cloud webhook body addressed to `phone_number_id`."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        log.warning("Ignoring webhook for object %r", _get(payload, "object"))
        return []
    events: list[Event] = []
    # Meta may batch several entries and several changes per entry; each is independent.
    for entry in _list(payload.get("entry")):
        for change in _list(_get(entry, "changes")):
            value = _get(change, "value")
            if not isinstance(value, dict):
                continue
            target = str(_get(_get(value, "metadata"), "phone_number_id") or "")
            if target != str(phone_number_id):
                # One app can serve several numbers; another tenant's traffic must not leak in.
                log.warning("Skipping webhook change for phone_number_id %r (expected %r)",
                            target or None, str(phone_number_id))
                continue
            field = _get(change, "field")
            if field == "messages":
                events.extend(_parse_messages_value(value))
            elif field == "user_preferences":
                events.extend(_parse_user_preferences(value))
            else:
                log.debug("Ignoring webhook field %r", field)
    return events


def _parse_messages_value(value: dict[str, Any]) -> list[Event]:
    names = {}
    for contact in _list(value.get("contacts")):
        wa_id = _get(contact, "wa_id")
        if wa_id:
            names[str(wa_id)] = _get(_get(contact, "profile"), "name")
    for error in _list(value.get("errors")):
        log.warning("Cloud API reported webhook error %s: %s",
                    _get(error, "code"), _get(error, "title"))
    events: list[Event] = []
    for message in _list(value.get("messages")):
        parsed = _parse_message(message, names)
        if parsed is not None:
            events.append(parsed)
    for status in _list(value.get("statuses")):
        events.extend(_parse_status(status))
    return events


def _parse_message(message: Any, names: dict[str, str | None]) -> InboundMessage | None:
    if not isinstance(message, dict) or not message.get("id") or not message.get("from"):
        log.warning("Skipping malformed inbound message without id/from")
        return None
    wa_id = str(message["from"])
    msg_type = str(message.get("type") or "unsupported")
    body = message.get(msg_type) if isinstance(message.get(msg_type), dict) else {}
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    fields: dict[str, Any] = {"text": None, "media": None, "payload": {},
                              "context_message_id": context.get("id")}
    if msg_type == "text":
        fields["text"] = body.get("body")
    elif msg_type in MEDIA_TYPES:
        fields["media"] = Media(media_id=body.get("id"), mime_type=body.get("mime_type"),
                                sha256=body.get("sha256"), caption=body.get("caption"),
                                filename=body.get("filename"), url=body.get("url"))
        fields["text"] = body.get("caption")
        if body.get("voice") is not None:
            fields["payload"]["voice"] = bool(body.get("voice"))
    elif msg_type == "location":
        fields["payload"] = {k: body.get(k) for k in ("latitude", "longitude", "name", "address", "url")
                             if body.get(k) is not None}
        fields["text"] = location_summary(body)
    elif msg_type == "contacts":
        contacts = _list(message.get("contacts"))
        fields["payload"] = {"contacts": contacts}
        fields["text"] = contacts_summary(contacts)
    elif msg_type == "interactive":
        fields.update(_interactive(body))
    elif msg_type == "button":
        fields["text"] = body.get("text")
        fields["payload"] = {"payload": body.get("payload")}
    elif msg_type == "reaction":
        fields["text"] = body.get("emoji") or None   # an empty emoji removes the reaction
        fields["context_message_id"] = body.get("message_id")
        fields["payload"] = {"emoji": body.get("emoji") or "", "removed": not body.get("emoji")}
    else:
        fields["payload"] = {"original_type": msg_type, "errors": _list(message.get("errors"))}
        msg_type = "unsupported"
    if context.get("forwarded") or context.get("frequently_forwarded"):
        fields["payload"]["forwarded"] = True
    if isinstance(message.get("referral"), dict):
        fields["payload"]["referral"] = message["referral"]
    return InboundMessage(provider_message_id=str(message["id"]), wa_id=wa_id,
                          timestamp=parse_timestamp(message.get("timestamp")), type=msg_type,
                          profile_name=names.get(wa_id), **fields)


def _interactive(body: dict[str, Any]) -> dict[str, Any]:
    kind = body.get("type")
    reply = body.get(kind) if isinstance(body.get(kind), dict) else {}
    payload: dict[str, Any] = {"interactive_type": kind}
    if kind in ("button_reply", "list_reply"):
        payload.update({"id": reply.get("id"), "title": reply.get("title")})
        if reply.get("description"):
            payload["description"] = reply["description"]
        return {"text": reply.get("title"), "payload": payload}
    if kind == "nfm_reply":  # a WhatsApp Flow response
        payload.update({"name": reply.get("name"), "response_json": reply.get("response_json")})
        return {"text": reply.get("body"), "payload": payload}
    return {"text": None, "payload": payload}


def _parse_status(status: Any) -> list[Event]:
    if not isinstance(status, dict) or not status.get("id"):
        return []
    state = str(status.get("status") or "").lower()
    if state not in DELIVERY_STATUSES:
        log.debug("Ignoring delivery status %r", state)
        return []
    state = MessageStatus(state)
    errors = _list(status.get("errors"))
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    when = parse_timestamp(status.get("timestamp"))
    recipient = status.get("recipient_id")
    events: list[Event] = [StatusUpdate(
        provider_message_id=str(status["id"]), status=state, timestamp=when,
        recipient_wa_id=str(recipient) if recipient else None,
        error_code=first.get("code"), error_title=first.get("title") or first.get("message"))]
    if state == MessageStatus.FAILED and recipient and _as_int(first.get("code")) == MARKETING_OPT_OUT_CODE:
        events.append(OptOutEvent(wa_id=str(recipient), timestamp=when))
    return events


def _parse_user_preferences(value: dict[str, Any]) -> list[Event]:
    events: list[Event] = []
    for pref in _list(value.get("user_preferences")):
        if not isinstance(pref, dict) or pref.get("category") != "marketing_messages":
            continue
        choice = str(pref.get("value") or "").lower()
        if choice == "stop" and pref.get("wa_id"):
            events.append(OptOutEvent(wa_id=str(pref["wa_id"]),
                                      timestamp=parse_timestamp(pref.get("timestamp"))))
        elif choice == "resume":
            # There is no opt-in event type: consent to resume is recorded by the business.
            log.info("Customer resumed marketing messages")
    return events


def location_summary(body: dict[str, Any]) -> str:
    """One line describing a shared location, for inbox previews."""
    label = ", ".join(str(body[k]) for k in ("name", "address") if body.get(k))
    coords = f"{body.get('latitude')}, {body.get('longitude')}"
    return f"Location: {label} ({coords})" if label else f"Location: {coords}"


def contacts_summary(contacts: list[Any]) -> str:
    """One line naming the shared contact cards, for inbox previews."""
    parts = []
    for card in contacts:
        name = _get(_get(card, "name"), "formatted_name") or "Unnamed contact"
        phones = [p.get("phone") for p in _list(_get(card, "phones")) if isinstance(p, dict)]
        parts.append(f"{name} ({phones[0]})" if phones and phones[0] else str(name))
    return "Shared contact: " + "; ".join(parts) if parts else "Shared contact"


def parse_timestamp(value: Any) -> datetime:
    """Unix seconds (int or numeric string) as an aware UTC datetime; now if missing/bad."""
    try:
        return datetime.fromtimestamp(int(str(value).strip()), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
