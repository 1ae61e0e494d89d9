"""Webhook deliveries that could not be processed: what the tenant sees, and running them again."""
from __future__ import annotations

from sqlalchemy import func, insert, select

from extensions import db
from models import WebhookEvent
from models.base import utcnow
from models.tenancy import current_tenant_id, each_tenant
from services.queueing import INBOUND_QUEUE, enqueue_after_commit

SHOWN = 20
PROCESS_JOB = "jobs.webhooks.process_webhook_event"


def store_event(channel_id: int, source: str, body: str) -> int:
    """Store a delivery exactly as received and have it processed once the transaction commits.

    Every way an event enters (provider webhooks, the sandbox) goes through here. A plain INSERT:
    the unit of work would only add bookkeeping to a row nothing reads back. It is stamped with the
    tenant in scope as a flush would; the composite foreign key refuses another tenant's channel,
    and row-level security checks the tenant again on PostgreSQL.
    """
    tenant_id = current_tenant_id()
    table = WebhookEvent.__table__
    event_id = db.session.execute(
        insert(table).values(tenant_id=tenant_id, channel_id=channel_id, source=source, body=body,
                             received_at=utcnow()).returning(table.c.id)
    ).scalar_one()
    enqueue_after_commit(PROCESS_JOB, tenant_id, event_id, queue_name=INBOUND_QUEUE)
    return event_id


def failed_events(limit: int = SHOWN) -> list[WebhookEvent]:
    """The newest deliveries that failed for good, for the settings page."""
    return list(db.session.scalars(select(WebhookEvent).where(WebhookEvent.failed_at.is_not(None))
                                   .order_by(WebhookEvent.id.desc()).limit(limit)))


def event_health() -> dict[str, int]:
    """Counts of deliveries that failed, are waiting for a retry, or were stored with items skipped."""
    failed = func.count().filter(WebhookEvent.failed_at.is_not(None))
    retrying = func.count().filter(WebhookEvent.processed_at.is_(None), WebhookEvent.failed_at.is_(None),
                                   WebhookEvent.attempts > 0)
    skipped = func.count().filter(WebhookEvent.processed_at.is_not(None), WebhookEvent.item_errors.is_not(None))
    row = db.session.execute(select(failed, retrying, skipped).select_from(WebhookEvent)).one()
    return {"failed": row[0], "retrying": row[1], "skipped": row[2]}


def rerun_event(event: WebhookEvent) -> None:
    """Process a failed or partly skipped delivery again (items already stored are not stored twice)."""
    event.failed_at = event.processed_at = event.next_attempt_at = None
    event.attempts, event.error, event.item_errors = 0, None, None
    enqueue_after_commit(PROCESS_JOB, event.tenant_id, event.id, queue_name=INBOUND_QUEUE)


def rerun_failed() -> int:
    """Run every failed delivery again; returns how many."""
    events = list(db.session.scalars(select(WebhookEvent).where(WebhookEvent.failed_at.is_not(None))))
    for event in events:
        rerun_event(event)
    return len(events)


def failures_by_tenant() -> dict[int, dict[str, int]]:
    """Across the install: each tenant with unfinished deliveries, and its counts (for operators)."""
    unfinished = WebhookEvent.processed_at.is_(None) & (
        WebhookEvent.failed_at.is_not(None) | (WebhookEvent.attempts > 0))
    report = {}
    for tenant_id in each_tenant(WebhookEvent, unfinished):
        report[tenant_id] = event_health()
    return report


def rerun_all_tenants() -> int:
    """Run every failed delivery of every tenant again (after a fix was deployed)."""
    total = 0
    for _tenant_id in each_tenant(WebhookEvent, WebhookEvent.failed_at.is_not(None)):
        total += rerun_failed()
        db.session.commit()
    return total
