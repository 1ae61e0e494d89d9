"""Turning provider events into contacts, messages, receipts, opt-outs and channel state."""
from __future__ import annotations

import dataclasses
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Channel, Contact, Message
from models.base import utcnow
from jobs.context import enqueue_after_commit
from services.channels import set_state
from services.messaging import as_utc
from services.optout import handle_inbound_text, handle_provider_opt_out
from services.phones import InvalidPhone, normalize_phone
from whatsapp.base import ConnectionEvent, Event, InboundMessage, OptOutEvent, StatusUpdate

log = logging.getLogger(__name__)


def apply_events(channel: Channel, events: list[Event]) -> dict[str, int]:
    """Apply each event once; returns counts by kind for the event record."""
    counts: dict[str, int] = {}
    for event in events:
        handler = _HANDLERS.get(type(event))
        if handler is None:
            continue
        if handler(channel, event):
            counts[type(event).__name__] = counts.get(type(event).__name__, 0) + 1
    channel.last_activity_at = utcnow()
    return counts


def find_or_create_contact(wa_id: str, profile_name: str | None) -> Contact | None:
    """The contact for a WhatsApp id, created on first contact; None for an unusable number."""
    try:
        phone = normalize_phone("+" + wa_id.lstrip("+"), strict=False)
    except InvalidPhone:
        log.warning("inbound event from an unusable WhatsApp id ignored")
        return None
    contact = db.session.scalar(select(Contact).where(Contact.phone == phone))
    if contact is None:
        contact = Contact(name=(profile_name or phone)[: Contact.NAME_MAX], phone=phone, profile_name=profile_name)
        try:
            with db.session.begin_nested():
                db.session.add(contact)
        except IntegrityError:  # created concurrently by another event of the same burst
            contact = db.session.scalar(select(Contact).where(Contact.phone == phone))
    elif profile_name and contact.profile_name != profile_name:
        contact.profile_name = profile_name
    return contact


def _inbound(channel: Channel, event: InboundMessage) -> bool:
    existing = db.session.scalar(select(Message.id).where(Message.provider_message_id == event.provider_message_id))
    if existing is not None:
        return False  # duplicate delivery
    contact = find_or_create_contact(event.wa_id, event.profile_name)
    if contact is None:
        return False
    media = dataclasses.asdict(event.media) if event.media else None
    message = Message(contact_id=contact.id, direction=Message.INBOUND, type=event.type, body=event.text,
                      media=media, payload=_jsonable(event.payload) or None, status="received",
                      context_message_id=event.context_message_id, provider_message_id=event.provider_message_id,
                      received_at=event.timestamp)
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:
        return False
    if contact.last_inbound_at is None or as_utc(contact.last_inbound_at) < event.timestamp:
        contact.last_inbound_at = event.timestamp
    if contact.last_message_at is None or as_utc(contact.last_message_at) < event.timestamp:
        contact.last_message_at = event.timestamp
    if message.media:
        from jobs.media import fetch_inbound_media

        enqueue_after_commit(fetch_inbound_media, message.tenant_id, message.id)
    keyword = event.text if event.type in ("text", "button", "interactive") else None
    if keyword:
        handle_inbound_text(contact, keyword)
    return True


def _status(channel: Channel, event: StatusUpdate) -> bool:
    message = db.session.scalar(select(Message).where(Message.provider_message_id == event.provider_message_id))
    if message is None:
        log.info("receipt for an unknown message ignored")
        return False
    changed = message.apply_status(event.status, event.timestamp, error_code=event.error_code,
                                   error_title=event.error_title)
    if event.status == "failed" and str(event.error_code) == "131050":
        handle_provider_opt_out(message.contact)
    return changed


def _opt_out(channel: Channel, event: OptOutEvent) -> bool:
    contact = find_or_create_contact(event.wa_id, None)
    return contact is not None and handle_provider_opt_out(contact)


def _connection(channel: Channel, event: ConnectionEvent) -> bool:
    set_state(channel, event.state, phone_number=event.phone_number, profile_name=event.profile_name, qr=event.qr)
    return True


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=str)) if value else value


_HANDLERS = {InboundMessage: _inbound, StatusUpdate: _status, OptOutEvent: _opt_out, ConnectionEvent: _connection}
