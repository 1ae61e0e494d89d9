"""The navigation badge: how a channel's link state reads on every page."""
from __future__ import annotations

import hashlib

from core.enums import ConnectionState
from models import Channel
from services.channels import ChannelSetupError, capabilities_for
from services.phones import format_phone

_BADGES = {
    ConnectionState.CONNECTED: ("badge-on", "Connected"),
    ConnectionState.PENDING: ("badge-wait", "Waiting to link"),
    ConnectionState.EXPIRED: ("badge-bad", "QR expired"),
    ConnectionState.DISCONNECTED: ("badge-bad", "Disconnected"),
    ConnectionState.ERROR: ("badge-bad", "Needs attention"),
    ConnectionState.NOT_CONFIGURED: ("badge-off", "Not linked"),
}

# Seconds between badge polls: quick while a link is being made, relaxed otherwise (a lost link
# still shows within one interval on every open page).
POLL_PENDING = 2
POLL_SETTLED = 10


def badge_version(channel: Channel | None) -> str:
    """Changes when the badge would read differently: the link state or the linked number."""
    state = channel.state if channel is not None else ConnectionState.NOT_CONFIGURED.value
    phone = (channel.phone_number or "") if channel is not None else ""
    # The number is hashed so poll URLs (and the access logs) do not carry it.
    return f"{state}.{hashlib.sha1(phone.encode()).hexdigest()[:8]}"


def badge_for(channel: Channel | None) -> dict:
    """What the navigation badge shows for `channel`."""
    state = channel.connection_state if channel is not None else ConnectionState.NOT_CONFIGURED
    css, label = _BADGES[state]
    try:
        name = capabilities_for(channel.kind).name if channel is not None else None
    except ChannelSetupError:
        name = None  # the badge is on every page, error pages included: it never raises
    title = f"WhatsApp {name}: {label}" if name else "WhatsApp: not linked"
    if channel is not None and channel.is_connected and channel.phone_number:
        title += f" ({format_phone(channel.phone_number)})"
    return {"css": css, "label": label, "title": title, "state": state.value, "version": badge_version(channel),
            "every": POLL_PENDING if state == ConnectionState.PENDING else POLL_SETTLED}
