"""The tenant's channel: creating it, building its provider, and recording its state."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from core.enums import ChannelKind
from extensions import db
from models import Channel
from models.base import utcnow
from services.crypto import new_token, token_digest
from services.media_links import read_own_media
from services.public_url import public_base_url
from services.sandbox import sandbox_provider
from whatsapp.base import Capabilities, ConnectionState, Provider
from whatsapp.cloud import CloudProvider
from whatsapp.gateway import GatewayProvider
from whatsapp.sandbox import SandboxProvider

PROVIDERS: dict[ChannelKind, type[Provider]] = {
    ChannelKind.CLOUD: CloudProvider, ChannelKind.GATEWAY: GatewayProvider, ChannelKind.SANDBOX: SandboxProvider,
}


class ChannelSetupError(RuntimeError):
    """Linking cannot proceed; the message is safe to show the tenant."""


def get_channel() -> Channel | None:
    """The current tenant's channel, if any."""
    return db.session.scalar(select(Channel))


def ensure_channel(kind: ChannelKind) -> Channel:
    """The tenant's channel, switched to `kind` (a tenant links one WhatsApp at a time)."""
    channel = get_channel()
    if channel is not None and channel.kind != kind:
        if channel.is_connected:
            raise ChannelSetupError("Disconnect the current WhatsApp before linking another one.")
        db.session.delete(channel)
        db.session.flush()
        channel = None
    if channel is None:
        channel = Channel(kind=ChannelKind(kind), state=ConnectionState.NOT_CONFIGURED)
        regenerate_webhook_tokens(channel)
        db.session.add(channel)
        db.session.flush()
    return channel


def regenerate_webhook_tokens(channel: Channel) -> None:
    """New webhook URL token and verify token: the old URL stops working at once."""
    token = new_token()
    channel.webhook_token = token
    channel.webhook_token_digest = token_digest(token)
    channel.verify_token = new_token(18)


def webhook_url(channel: Channel) -> str:
    """The public URL the provider posts this tenant's events to."""
    return f"{public_base_url()}/webhooks/{channel.kind}/{channel.webhook_token}"


def set_state(channel: Channel, state: ConnectionState, *, detail: str | None = None, phone_number: str | None = None,
              profile_name: str | None = None, qr: str | None = None) -> None:
    """Record a state change (the badge and the settings page read it)."""
    if state == ConnectionState.PENDING and qr is None and capabilities_for(channel.kind).reconnect_reports_pending:
        # Evolution's "connecting" arrives with every new QR (sometimes after it) and on every
        # reconnect of a linked phone: it must neither blank a live QR nor unlink the number.
        if channel.state == ConnectionState.CONNECTED:
            return
        if channel.state == ConnectionState.PENDING:
            qr = channel.qr_code
    if channel.state != state:
        channel.state_changed_at = utcnow()
    channel.state = ConnectionState(state)
    channel.state_detail = detail
    channel.qr_code = qr if state == ConnectionState.PENDING else None
    if phone_number:
        channel.phone_number = phone_number
    if profile_name:
        channel.profile_name = profile_name


def provider_for(channel: Channel) -> Provider:
    """The adapter for `channel`, built from its stored credentials and install-wide config."""
    config = current_app.config
    match channel.kind:
        case ChannelKind.CLOUD:
            if not (channel.phone_number_id and channel.waba_id and channel.access_token):
                raise ChannelSetupError("Enter the Cloud API credentials first.")
            return CloudProvider(channel.phone_number_id, channel.waba_id, channel.access_token,
                                 base_url=config["WHATSAPP_GRAPH_URL"], api_version=config["WHATSAPP_GRAPH_VERSION"])
        case ChannelKind.GATEWAY:
            if not gateway_available():
                raise ChannelSetupError("QR linking needs WHATSAPP_GATEWAY_URL and WHATSAPP_GATEWAY_KEY "
                                        "on this server.")
            return GatewayProvider(config["WHATSAPP_GATEWAY_URL"], config["WHATSAPP_GATEWAY_KEY"],
                                   channel.instance_name, instance_token=channel.instance_token,
                                   webhook_url=webhook_url(channel), read_media=read_own_media)
        case ChannelKind.SANDBOX:
            return sandbox_provider(channel)
    raise ChannelSetupError(f"Unknown channel kind {channel.kind!r}")


def capabilities_for(kind: str) -> Capabilities:
    """What a channel of `kind` can do, without credentials or a network call."""
    try:
        return PROVIDERS[ChannelKind(kind)].capabilities
    except ValueError as exc:
        raise ChannelSetupError(f"Unknown channel kind {kind!r}") from exc


def kinds_with(capability: str) -> list[ChannelKind]:
    """The kinds whose providers have `capability` (a `Capabilities` flag), for filtering channels in SQL."""
    return [kind for kind, cls in PROVIDERS.items() if getattr(cls.capabilities, capability)]


def gateway_available() -> bool:
    """True when this install has a QR gateway configured."""
    config = current_app.config
    return bool(config["WHATSAPP_GATEWAY_URL"] and config["WHATSAPP_GATEWAY_KEY"])
