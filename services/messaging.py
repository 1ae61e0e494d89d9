"""The outbox: every message any feature sends is queued here and delivered by `jobs.sending`.

Rules that hold for every sender live here once: a linked, unpaused channel; a usable number;
the Cloud API's 24-hour customer-service window; and, for bulk sends, the opt-out check.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement

from extensions import db
from models import Channel, Contact, Message, MessageTemplate
from models.base import utcnow
from services.channels import get_channel
from services.media_store import MediaRejected, check_upload, save_media
from services.phones import InvalidPhone, normalize_phone
from services.queueing import enqueue_after_commit, send_queue

TEXT_MAX = 4096          # Cloud API text body limit
CAPTION_MAX = 1024
WINDOW = timedelta(hours=24)


class SendRefused(ValueError):
    """The message cannot be queued; the text says why in words the tenant understands."""


def window_closes_at(contact: Contact) -> datetime | None:
    """When the customer-service window for `contact` closes (None: never opened)."""
    last = contact.last_inbound_at
    return last + WINDOW if last else None


def window_open(contact: Contact, channel: Channel | None) -> bool:
    """Free-form messages are allowed: always on linked devices and the sandbox, within 24 h on Cloud."""
    if channel is None or channel.kind != Channel.CLOUD:
        return True
    closes = window_closes_at(contact)
    return closes is not None and closes > utcnow()


def bulk_reachable() -> ColumnElement[bool]:
    """Criterion every bulk feature (broadcasts, drips, workflows) adds to its audience query."""
    return Contact.opted_out.is_(False)


def ensure_can_send(contact: Contact, channel: Channel | None, *, bulk: bool = False) -> Channel:
    """Raise SendRefused unless `contact` can be messaged through `channel` now."""
    if channel is None:
        raise SendRefused("Link a WhatsApp number in Settings › WhatsApp before sending.")
    if channel.paused_at is not None:
        raise SendRefused(f"Sending is paused: {channel.paused_reason}. Fix it in Settings › WhatsApp.")
    if not channel.is_connected:
        raise SendRefused("WhatsApp is not connected. Finish linking it in Settings › WhatsApp.")
    if bulk and contact.opted_out:
        raise SendRefused(f"{contact.name} opted out of messages.")
    try:
        normalize_phone(contact.phone, strict=False)
    except InvalidPhone as exc:
        raise SendRefused(f"{contact.name} has no valid WhatsApp number.") from exc
    return channel


def _ensure_window(contact: Contact, channel: Channel) -> None:
    if not window_open(contact, channel):
        raise SendRefused("The 24-hour customer-service window is closed: the customer has not written in the "
                          "last 24 hours, so WhatsApp only allows an approved template.")


def _queue(message: Message, contact: Contact, channel: Channel) -> Message:
    message.channel_kind = channel.kind
    db.session.add(message)
    db.session.flush()
    contact.last_message_at = utcnow()
    _enqueue_send(message)
    return message


def _enqueue_send(message: Message) -> None:
    enqueue_after_commit("jobs.sending.send_message", message.tenant_id, message.id, queue_name=send_queue(message.origin))


def queue_text(contact: Contact, body: str, *, origin: str = "inbox", bulk: bool = False) -> Message:
    """Queue a text message (flushes; the caller commits, then the job runs)."""
    body = (body or "").strip()
    if not body:
        raise SendRefused("Write a message first.")
    if len(body) > TEXT_MAX:
        raise SendRefused(f"Messages can have at most {TEXT_MAX} characters (this one has {len(body)}).")
    channel = ensure_can_send(contact, get_channel(), bulk=bulk)
    _ensure_window(contact, channel)
    return _queue(Message(contact_id=contact.id, direction=Message.OUTBOUND, type="text", body=body,
                          status="queued", origin=origin), contact, channel)


def queue_media(contact: Contact, data: bytes, filename: str, mime_type: str, caption: str = "", *,
                origin: str = "inbox") -> Message:
    """Queue an image or document; type and size are checked before anything is stored or sent."""
    caption = (caption or "").strip()
    if len(caption) > CAPTION_MAX:
        raise SendRefused(f"Captions can have at most {CAPTION_MAX} characters.")
    try:
        kind = check_upload(filename, mime_type, len(data))
    except MediaRejected as exc:
        raise SendRefused(str(exc)) from exc
    channel = ensure_can_send(contact, get_channel())
    _ensure_window(contact, channel)
    mime_type = (mime_type or "").split(";")[0].strip().lower()
    media = {"path": save_media(data, mime_type), "mime_type": mime_type, "filename": filename, "size": len(data)}
    return _queue(Message(contact_id=contact.id, direction=Message.OUTBOUND, type=kind, body=caption or None,
                          media=media, status="queued", origin=origin), contact, channel)


def queue_template(contact: Contact, template: MessageTemplate, variables: list[str], *, origin: str = "inbox",
                   bulk: bool = False) -> Message:
    """Queue an approved template with its variables filled (allowed outside the window)."""
    from services.templates import TemplateInvalid, build_components, render_text

    if not template.is_approved:
        raise SendRefused(f"The template {template.name} is {template.status.lower()}, not approved.")
    channel = ensure_can_send(contact, get_channel(), bulk=bulk)
    if channel.kind == Channel.GATEWAY:
        raise SendRefused("Templates are a Cloud API feature; a linked device sends plain messages.")
    try:
        components = build_components(template, variables)
    except TemplateInvalid as exc:
        raise SendRefused(str(exc)) from exc
    payload = {"template": {"name": template.name, "language": template.language, "components": components}}
    return _queue(Message(contact_id=contact.id, direction=Message.OUTBOUND, type="template",
                          body=render_text(template, variables), payload=payload, status="queued",
                          origin=origin), contact, channel)


def retry_message(message: Message, *, confirmed: bool = False) -> Message:
    """Queue a failed outbound message again (a person decided to).

    A message whose fate is unknown may already be on the customer's phone, so sending it
    again needs the person to confirm they accept a possible duplicate.
    """
    if message.direction != Message.OUTBOUND or message.status not in ("failed", "unknown"):
        raise SendRefused("Only failed messages can be retried.")
    if message.status == "unknown" and not confirmed:
        raise SendRefused("WhatsApp may already have delivered this message. Confirm to send it again.")
    channel = ensure_can_send(message.contact, get_channel())
    message.status, message.error_code, message.error_title = "queued", None, None
    message.attempts, message.next_attempt_at, message.sending_started_at = 0, None, None
    message.channel_kind = channel.kind
    _enqueue_send(message)
    return message
