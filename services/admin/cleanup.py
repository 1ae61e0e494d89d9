"""Unlinking linked devices nobody used for a while: the gateway instance is logged out and deleted, the
workspace's channel says why (and can be linked again), and the audit log records it."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from core.enums import ConnectionState
from extensions import db
from models import AuditEvent, Channel, Message
from models.base import utcnow
from models.tenancy import tenant_scope, unscoped
from services.audit import record
from services.channels import ChannelSetupError, kinds_with, provider_for, set_state
from whatsapp.base import ProviderError

log = logging.getLogger(__name__)


def inactive_reason(days: int) -> str:
    """What the workspace's WhatsApp settings say after the cleanup."""
    return f"Unlinked after {days} days without activity. Link again with a new QR code to resume."


def _candidates(cutoff) -> list[tuple[int, int]]:
    """(tenant id, channel id) of device links whose last sign of life is older than `cutoff`."""
    last_seen = func.coalesce(Channel.last_activity_at, Channel.state_changed_at, Channel.created_at)
    with unscoped():
        return [tuple(row) for row in db.session.execute(
            select(Channel.tenant_id, Channel.id).where(Channel.kind.in_(kinds_with("instance_lifecycle")),
                                                        Channel.instance_name.is_not(None), last_seen < cutoff))]


def unlink_inactive_devices(now=None) -> int:
    """Unlink every device link idle for INACTIVE_LINK_DAYS (nothing received, nothing sent); returns how many.

    Each one commits on its own, so one gateway failure leaves the others done and itself for tomorrow.
    """
    days = current_app.config["INACTIVE_LINK_DAYS"]
    cutoff = (now or utcnow()) - timedelta(days=days)
    unlinked = 0
    for tenant_id, channel_id in _candidates(cutoff):
        with tenant_scope(tenant_id):
            if db.session.scalar(select(Message.id).where(Message.created_at >= cutoff).limit(1)) is not None:
                continue  # messages went out (or came in) lately: the link is in use
            channel = db.session.scalar(select(Channel).where(Channel.id == channel_id))
            try:
                provider_for(channel).disconnect()
            except (ProviderError, ChannelSetupError) as exc:
                db.session.rollback()
                log.warning("could not unlink the idle device of tenant %s: %s", tenant_id, exc)
                continue
            channel.instance_name = channel.instance_token = channel.qr_code = None
            set_state(channel, ConnectionState.DISCONNECTED, detail=inactive_reason(days))
            record("channel.unlinked_inactive", target=channel, actor=(AuditEvent.SYSTEM, None, None),
                   changes={"idle_days": days})
            db.session.commit()
            unlinked += 1
    return unlinked
