"""The platform at a glance: workspaces, active links, messages per hour, failure rate, webhook backlog."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, func, select

from extensions import db
from models import Channel, Message, Tenant, WebhookEvent
from models.base import utcnow
from models.tenancy import unscoped

HOURS = 24


def platform_overview() -> dict:
    """Counts for the admin home; the hourly series covers the last HOURS hours (UTC)."""
    now = utcnow()
    since = (now - timedelta(hours=HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    with unscoped():
        tenants = db.session.scalar(select(func.count(Tenant.id))) or 0
        suspended = db.session.scalar(select(func.count(Tenant.id)).where(Tenant.status == Tenant.SUSPENDED)) or 0
        links = dict(db.session.execute(select(Channel.state, func.count()).group_by(Channel.state)).all())
        failed = case((Message.status == "failed", 1), else_=0)
        total, failures = db.session.execute(
            select(func.count(Message.id), func.coalesce(func.sum(failed), 0))
            .where(Message.created_at >= since, Message.direction == Message.OUTBOUND)).one()
        backlog = db.session.scalar(select(func.count(WebhookEvent.id)).where(
            WebhookEvent.processed_at.is_(None), WebhookEvent.failed_at.is_(None))) or 0
        failed_events = db.session.scalar(select(func.count(WebhookEvent.id))
                                          .where(WebhookEvent.failed_at.is_not(None))) or 0
        hours = hourly_messages(since, now)
    return {"tenants": tenants, "suspended": suspended, "links": links,
            "active_links": links.get("connected", 0), "sent_24h": int(total or 0), "failed_24h": int(failures or 0),
            "failure_rate": (100.0 * int(failures or 0) / int(total)) if total else 0.0,
            "webhook_backlog": backlog, "webhook_failed": failed_events, "hours": hours}


def hourly_messages(since, until) -> list[dict]:
    """[{hour, sent, received}] for each hour from `since` to `until` (empty hours included)."""
    out = case((Message.direction == Message.OUTBOUND, 1), else_=0)
    counts: dict = {}
    # Hour by hour over the created_at index: dialect-neutral, and 24 small range counts.
    start = since
    while start <= until:
        end = start + timedelta(hours=1)
        sent, total = db.session.execute(
            select(func.coalesce(func.sum(out), 0), func.count(Message.id))
            .where(Message.created_at >= start, Message.created_at < end)).one()
        counts[start] = {"hour": start, "sent": int(sent or 0), "received": int(total or 0) - int(sent or 0)}
        start = end
    return list(counts.values())
