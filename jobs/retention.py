"""Nightly pruning of stored history beyond each tenant's limits."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from extensions import db
from jobs.context import app_job, tenant_job
from models import DomainEvent, Message, Tenant, WebhookEvent
from models.base import utcnow
from models.tenancy import tenant_ids_where
from services.media_store import delete_media

BATCH = 1000
# Dispatched domain events repeat what their consumers recorded already (runs, deliveries); a month is
# kept to investigate problems.
EVENTS_KEPT = timedelta(days=30)


@tenant_job
def prune_tenant_history(tenant_id: int) -> int:
    """Delete messages older than the tenant's age limit or beyond its count limit, media included."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == tenant_id))
    cutoff = utcnow() - timedelta(days=tenant.retention_days)
    doomed = set(db.session.scalars(select(Message.id).where(Message.created_at < cutoff)))
    total = db.session.scalar(select(func.count(Message.id)))
    excess = total - len(doomed) - tenant.retention_max_messages
    if excess > 0:
        oldest = select(Message.id).where(Message.id.not_in(doomed) if doomed else True) \
            .order_by(Message.created_at, Message.id).limit(excess)
        doomed.update(db.session.scalars(oldest))
    ids = sorted(doomed)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        for media in db.session.scalars(select(Message.media).where(Message.id.in_(chunk))):
            delete_media((media or {}).get("path"))
        db.session.execute(delete(Message).where(Message.id.in_(chunk)).execution_options(synchronize_session=False))
    # Raw webhook bodies are only needed until processed, and for a while to investigate problems.
    db.session.execute(delete(WebhookEvent).where(WebhookEvent.processed_at < cutoff)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(DomainEvent).where(DomainEvent.dispatched_at < max(cutoff, utcnow() - EVENTS_KEPT))
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return len(ids)


@app_job
def prune_history() -> dict[int, int]:
    """Run the per-tenant pruning for every tenant that has messages."""
    return {tenant_id: prune_tenant_history(tenant_id) for tenant_id in tenant_ids_where(Message)}
