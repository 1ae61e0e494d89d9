"""Processing stored webhook events, and sweeping up any whose job was lost."""
from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import select

from extensions import db
from jobs.context import app_job, enqueue_now, tenant_job
from models import Channel, WebhookEvent
from models.base import utcnow
from models.tenancy import tenant_ids_where, tenant_scope
from services.channels import provider_for
from services.inbound import apply_events

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=2)


@tenant_job
def process_webhook_event(tenant_id: int, event_id: int) -> dict[str, int] | None:
    """Parse one stored event with its channel's adapter and apply what it says (idempotent)."""
    event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.id == event_id))
    if event is None or event.processed_at is not None:
        return None
    channel = db.session.scalar(select(Channel).where(Channel.id == event.channel_id))
    try:
        events = provider_for(channel).parse_webhook(json.loads(event.body))
        counts = apply_events(channel, events)
    except Exception as exc:
        db.session.rollback()
        event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.id == event_id))
        event.error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        raise
    event.processed_at = utcnow()
    event.error = None
    db.session.commit()
    return counts


@app_job
def requeue_stale_events() -> int:
    """Enqueue events stored but never processed (Redis lost the job, or it was down)."""
    cutoff = utcnow() - STALE_AFTER
    pending = (WebhookEvent.processed_at.is_(None), WebhookEvent.error.is_(None), WebhookEvent.received_at < cutoff)
    count = 0
    for tenant_id in tenant_ids_where(WebhookEvent, *pending):
        with tenant_scope(tenant_id):
            for event_id in db.session.scalars(select(WebhookEvent.id).where(*pending).limit(500)):
                enqueue_now(process_webhook_event, tenant_id, event_id)
                count += 1
    return count
