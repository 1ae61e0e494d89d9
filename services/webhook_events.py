"""Webhook deliveries that could not be processed: what the tenant sees, and running them again."""
from __future__ import annotations

import functools

from sqlalchemy import Integer, String, Text, bindparam, func, insert, select, type_coerce

from extensions import db
from models import Channel, WebhookEvent
from models.base import utcnow
from models.tenancy import current_tenant_id, each_tenant
from services.queueing import INBOUND_QUEUE, enqueue_after_commit

SHOWN = 20
DRAIN_JOB = "jobs.webhooks.drain_webhook_events"
# Columns whose stored value a cached channel may be checked against (see store_event_if_current).
GUARD_COLUMNS = {"app_secret": type_coerce(Channel.app_secret, Text), "instance_name": Channel.instance_name}


def drain_flight(tenant_id: int) -> str:
    """The single-flight key of a tenant's webhook drain: one drain job queued or running per tenant."""
    return f"webhook-drain:{tenant_id}"


def _process_after_commit(tenant_id: int) -> None:
    # A burst of deliveries shares one drain job per tenant instead of one job each: a request whose
    # tenant already has a drain queued or running pays one Redis SET, not a job's creation.
    enqueue_after_commit(DRAIN_JOB, tenant_id, queue_name=INBOUND_QUEUE, single_flight=drain_flight(tenant_id))


def process_backlog(tenant_id: int) -> None:
    """Have the tenant's stored events processed once the transaction commits (after a reinstatement)."""
    _process_after_commit(tenant_id)


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
    _process_after_commit(tenant_id)
    return event_id


@functools.cache
def _insert_if_current(guard: str):
    """The INSERT ... SELECT of store_event_if_current for one guard column, built once per process."""
    table = WebhookEvent.__table__
    tenant_id = bindparam("tenant_id", type_=Integer)
    current = select(
        tenant_id, Channel.id, bindparam("source", type_=String), bindparam("body", type_=Text),
        bindparam("received_at", type_=table.c.received_at.type),
    ).where(Channel.tenant_id == tenant_id, Channel.id == bindparam("channel_id"),
            Channel.webhook_token_digest == bindparam("digest"),
            GUARD_COLUMNS[guard].is_not_distinct_from(bindparam("guarded", type_=Text)))
    columns = [table.c.tenant_id, table.c.channel_id, table.c.source, table.c.body, table.c.received_at]
    return insert(table).from_select(columns, current).returning(table.c.id)


def store_event_if_current(channel_id: int, digest: str, guard: str, guarded_value: str | None,
                           source: str, body: str) -> int | None:
    """Store a delivery for a channel known from a cache, only if the channel is still as it was seen.

    One INSERT ... SELECT: the row goes in only while the channel still has this id, URL token digest
    and stored `guard` column value (the app secret's ciphertext, or the instance name). A regenerated
    URL, new credentials or an unlinked number insert nothing and return None, so the caller looks
    the channel up afresh. INSERT ... SELECT is not scoped by the ORM listener: the tenant is named
    here (and row-level security checks it again on PostgreSQL). It runs on the session's connection
    without the ORM's statement events, which have nothing to add to a statement built once.
    """
    tenant_id = current_tenant_id()
    params = {"tenant_id": tenant_id, "channel_id": channel_id, "digest": digest, "guarded": guarded_value,
              "source": source, "body": body, "received_at": utcnow()}
    event_id = db.session.connection().execute(_insert_if_current(guard), params).scalar()
    if event_id is not None:
        _process_after_commit(tenant_id)
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
    _process_after_commit(event.tenant_id)


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
