"""Sandbox receipts arrive later, like a real provider's."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from jobs.context import tenant_job
from models import Channel
from services.sandbox import record_sandbox_event


@tenant_job
def emit_sandbox_event(tenant_id: int, channel_id: int, body: dict) -> None:
    """Feed one sandbox event body into the webhook pipeline."""
    channel = db.session.scalar(select(Channel).where(Channel.id == channel_id))
    if channel is None or channel.instance_name != body.get("instance"):
        return  # the tenant switched channels meanwhile (a new channel may even reuse the id)
    record_sandbox_event(channel, body)
    db.session.commit()
