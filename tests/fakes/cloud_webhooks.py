"""Builders for realistic WhatsApp Cloud API webhook bodies (Meta's documented shapes)."""
from __future__ import annotations

import copy
import secrets
import time
from typing import Any


def _wamid() -> str:
    return "wamid.HBgL" + secrets.token_hex(12).upper()


def message_payload(msg_type: str, content: dict[str, Any] | None = None, *,
                    wa_id: str = "15551234567", message_id: str | None = None,
                    timestamp: int | None = None, context_id: str | None = None,
                    **extra: Any) -> dict[str, Any]:
    """One `value.messages[]` item, e.g. message_payload("text", {"body": "hi"})."""
    message: dict[str, Any] = {"from": wa_id, "id": message_id or _wamid(),
                               "timestamp": str(timestamp if timestamp is not None else int(time.time())),
                               "type": msg_type}
    if msg_type == "contacts":
        message["contacts"] = (content or {}).get("contacts", [])
    elif content is not None:
        message[msg_type] = content
    if context_id:
        message["context"] = {"from": "15550100000", "id": context_id}
    message.update(extra)
    return message


def status_payload(message_id: str, status: str = "delivered", *, recipient_id: str = "15551234567",
                   timestamp: int | None = None, error_code: int | None = None,
                   error_title: str | None = None) -> dict[str, Any]:
    """One `value.statuses[]` item; failed statuses carry an `errors[]` entry."""
    item: dict[str, Any] = {"id": message_id, "status": status,
                            "timestamp": str(timestamp if timestamp is not None else int(time.time())),
                            "recipient_id": recipient_id}
    if status in ("sent", "delivered"):
        item["conversation"] = {"id": secrets.token_hex(16), "origin": {"type": "service"}}
        item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    if error_code is not None:
        title = error_title or "Message failed"
        item["errors"] = [{"code": error_code, "title": title, "message": title,
                           "error_data": {"details": title}}]
    return item


def user_preferences_payload(wa_id: str, value: str = "stop", *, category: str = "marketing_messages",
                             timestamp: int | None = None) -> dict[str, Any]:
    """One `value.user_preferences[]` item (a user stopping or resuming marketing messages)."""
    return {"wa_id": wa_id, "detail": f"User requested to {value} marketing messages",
            "category": category, "value": value,
            "timestamp": timestamp if timestamp is not None else int(time.time())}


def build_webhook(phone_number_id: str, *, messages: list[dict[str, Any]] | None = None,
                  statuses: list[dict[str, Any]] | None = None,
                  user_preferences: list[dict[str, Any]] | None = None,
                  profile_names: dict[str, str] | None = None, waba_id: str = "102290129340398",
                  display_phone_number: str = "15550100000", field: str | None = None) -> dict[str, Any]:
    """A full webhook envelope with one entry and one change for `phone_number_id`."""
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": display_phone_number,
                                          "phone_number_id": str(phone_number_id)}}
    senders = [m["from"] for m in messages or []] + [p["wa_id"] for p in user_preferences or []]
    if senders:
        names = profile_names or {}
        value["contacts"] = [{"profile": {"name": names.get(w, f"Customer {w[-4:]}")}, "wa_id": w}
                             for w in dict.fromkeys(senders)]
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    if user_preferences:
        value["user_preferences"] = user_preferences
    change = {"value": value, "field": field or ("user_preferences" if user_preferences else "messages")}
    return {"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": [change]}]}


def merge_webhooks(*payloads: dict[str, Any], same_entry: bool = False) -> dict[str, Any]:
    """Combine envelopes into one body: separate entries, or one entry with several changes."""
    entries = [copy.deepcopy(e) for p in payloads for e in p["entry"]]
    if same_entry:
        changes = [c for e in entries for c in e["changes"]]
        entries = [{"id": entries[0]["id"], "changes": changes}]
    return {"object": "whatsapp_business_account", "entry": entries}
