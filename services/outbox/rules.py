"""The rules every send obeys, whoever asks for it: a linked, unpaused channel; a usable number; the
Cloud API's 24-hour customer-service window; and, for bulk sends, the opt-out."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement

from models import Channel, Contact
from models.base import utcnow
from services.channels import capabilities_for
from services.phones import InvalidPhone, normalize_phone

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
    if channel is None or not capabilities_for(channel.kind).service_window:
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


def ensure_window(contact: Contact, channel: Channel) -> None:
    """Refuse free-form messages outside the customer-service window (templates are exempt)."""
    if not window_open(contact, channel):
        raise SendRefused("The 24-hour customer-service window is closed: the customer has not written in the "
                          "last 24 hours, so WhatsApp only allows an approved template.")
