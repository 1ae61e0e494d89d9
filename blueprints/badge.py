"""The navigation badge: how a channel's link state reads on every page."""
from __future__ import annotations

from core.enums import ConnectionState
from models import Channel
from services.channels import ChannelSetupError, capabilities_for

_BADGES = {
    ConnectionState.CONNECTED: ("badge-on", "Connected"),
    ConnectionState.PENDING: ("badge-wait", "Waiting to link"),
    ConnectionState.EXPIRED: ("badge-bad", "QR expired"),
    ConnectionState.DISCONNECTED: ("badge-bad", "Disconnected"),
    ConnectionState.ERROR: ("badge-bad", "Needs attention"),
    ConnectionState.NOT_CONFIGURED: ("badge-off", "Not linked"),
}


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
        title += f" ({channel.phone_number})"
    return {"css": css, "label": label, "title": title, "state": state.value}
