"""Linking a tenant's WhatsApp: Cloud API credentials, a QR-linked gateway device, or the sandbox.

Every function leaves the database unchanged when the provider refuses: callers commit only
on success, and provider errors propagate with a message fit for the settings page.
"""
from __future__ import annotations

import logging
import re

from core.enums import ChannelKind, ConnectionState
from extensions import db
from models import Channel
from models.base import utcnow
from services.audit import record
from services.channels import (
    ChannelSetupError,
    capabilities_for,
    ensure_channel,
    get_channel,
    provider_for,
    regenerate_webhook_tokens,
    set_state,
)
from services.crypto import new_token
from services.errors import Invalid
from services.sandbox import phone_url
from whatsapp.base import ChannelStatus, ProviderError

log = logging.getLogger(__name__)
_GRAPH_ID = re.compile(r"^\d{5,30}$")


def save_cloud_credentials(phone_number_id: str, waba_id: str, access_token: str, app_secret: str,
                           rate_per_second: float | None = None) -> Channel:
    """Store Cloud API credentials (blank secrets keep the stored ones); the state waits for a test.

    `rate_per_second` is the account's messaging throughput (Meta: 80/s by default, up to 1,000).
    """
    existing = get_channel()
    has_stored = existing is not None and capabilities_for(existing.kind).credentials
    max_rate = capabilities_for(ChannelKind.CLOUD).max_rate
    errors = {}
    phone_number_id, waba_id = phone_number_id.strip(), waba_id.strip()
    access_token, app_secret = access_token.strip(), app_secret.strip()
    if not _GRAPH_ID.match(phone_number_id):
        errors["phone_number_id"] = "The phone number ID is the long number shown under API Setup in Meta."
    if not _GRAPH_ID.match(waba_id):
        errors["waba_id"] = "The WhatsApp Business Account ID is a long number."
    if not access_token and not (has_stored and existing.access_token):
        errors["access_token"] = "Enter an access token (a permanent System User token is best)."
    elif access_token and (len(access_token) < 20 or " " in access_token):
        errors["access_token"] = "That does not look like an access token."
    if not app_secret and not (has_stored and existing.app_secret):
        errors["app_secret"] = "Enter the app secret (App settings > Basic) so webhooks can be verified."
    elif app_secret and not re.fullmatch(r"[0-9a-fA-F]{16,64}", app_secret):
        errors["app_secret"] = "The app secret is a string of 32 hexadecimal characters."
    if rate_per_second is not None and not 1 <= rate_per_second <= max_rate:
        errors["rate_per_second"] = f"Choose between 1 and {max_rate:g} messages per second."
    if errors:
        raise Invalid(errors)
    channel = ensure_channel(ChannelKind.CLOUD)
    channel.rate_per_second = rate_per_second
    channel.phone_number_id, channel.waba_id = phone_number_id, waba_id
    if access_token:
        channel.access_token = access_token
    if app_secret:
        channel.app_secret = app_secret
    set_state(channel, ConnectionState.PENDING, detail="Saved. Run “Test connection” to check them.")
    record("channel.credentials_saved", target=channel, changes={"phone_number_id": phone_number_id, "waba": waba_id})
    return channel


def test_cloud_connection(channel: Channel) -> ChannelStatus:
    """Ask the Graph API about the phone number; on success the channel is connected."""
    try:
        status = provider_for(channel).status()
    except ProviderError as exc:
        set_state(channel, ConnectionState.ERROR, detail=exc.message)
        raise
    channel.verified_name, channel.quality_rating = status.verified_name, status.quality
    channel.paused_at = channel.paused_reason = None  # credentials work again: sending resumes
    record("channel.linked", target=channel, changes={"kind": channel.kind})
    set_state(channel, ConnectionState.CONNECTED, phone_number=status.phone_number,
              profile_name=status.verified_name)
    return status


def subscribe_cloud_webhooks(channel: Channel) -> None:
    """Subscribe the app to the WABA's webhooks (without it no inbound message ever arrives)."""
    provider_for(channel).subscribe_app()
    channel.webhooks_subscribed_at = utcnow()


def start_qr_link() -> Channel:
    """Create the tenant's own gateway instance and fetch its first QR."""
    channel = ensure_channel(ChannelKind.GATEWAY)
    if not channel.instance_name:
        channel.instance_name = "mh-" + new_token(18).replace("_", "").replace("-", "")[:24].lower()
        provider = provider_for(channel)
        channel.instance_token = provider.create_instance()
    record("channel.link_started", target=channel, changes={"kind": channel.kind})
    return refresh_qr(channel)


def refresh_qr(channel: Channel) -> Channel:
    """Ask the gateway for the current QR (it rotates them) or notice the device is linked."""
    provider = provider_for(channel)
    result = provider.connect()
    set_state(channel, result.state, qr=result.qr, phone_number=result.phone_number, profile_name=result.profile_name)
    return channel


def refresh_link_status(channel: Channel) -> Channel:
    """Poll target: bring a pending QR link up to date; other states come from webhooks."""
    if not capabilities_for(channel.kind).instance_lifecycle or channel.state != ConnectionState.PENDING:
        return channel
    try:
        status = provider_for(channel).status()
        if status.state == ConnectionState.CONNECTED:
            set_state(channel, ConnectionState.CONNECTED, phone_number=status.phone_number,
                      profile_name=status.profile_name)
        elif status.state == ConnectionState.PENDING or status.state == ConnectionState.DISCONNECTED:
            refresh_qr(channel)
        else:
            set_state(channel, status.state, detail=status.detail)
    except ProviderError as exc:
        channel.state_detail = exc.message  # keep the QR; say what went wrong
    return channel


def regenerate_webhook(channel: Channel) -> None:
    """New webhook URL and verify token; a gateway instance is pointed at the new URL first.

    Evolution keeps posting to whatever URL it holds, so a gateway that does not take the new
    one raises here; the caller rolls back and the old URL keeps working.
    """
    regenerate_webhook_tokens(channel)
    record("channel.webhook_regenerated", target=channel)
    if capabilities_for(channel.kind).instance_lifecycle and channel.instance_name:
        provider_for(channel).set_webhook()


def restore_gateway_webhook(channel: Channel) -> None:
    """After a rollback, point the gateway back at the stored URL (it may have taken the new one)."""
    if not capabilities_for(channel.kind).instance_lifecycle or not channel.instance_name:
        return
    try:
        provider_for(channel).set_webhook()
    except (ProviderError, ChannelSetupError) as exc:
        log.warning("could not point gateway instance %s back at its webhook URL: %s", channel.instance_name, exc)


def start_sandbox() -> Channel:
    """Link the sandbox: its QR opens a page that plays the phone (refused while it is linked already)."""
    channel = ensure_channel(ChannelKind.SANDBOX)
    if channel.is_connected:
        # Starting again would set it back to pending: the linked phone would be cut off.
        raise ChannelSetupError("The sandbox is linked already.")
    if not channel.instance_name:
        # The name is the phone page's URL, so it is as unguessable as a webhook token.
        channel.instance_name = "sandbox-" + new_token(24)
    set_state(channel, ConnectionState.PENDING, qr=phone_url(channel))
    record("channel.link_started", target=channel, changes={"kind": channel.kind})
    return channel


def disconnect_channel(channel: Channel) -> None:
    """Unlink at the provider, then forget the channel and its credentials."""
    if capabilities_for(channel.kind).instance_lifecycle and channel.instance_name:
        try:
            provider_for(channel).disconnect()
        except ChannelSetupError:
            pass  # gateway no longer configured: nothing remote to remove
    record("channel.unlinked", target=channel, changes={"kind": channel.kind, "phone_number": channel.phone_number})
    db.session.delete(channel)
