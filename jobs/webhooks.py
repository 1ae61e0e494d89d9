"""Processing stored webhook events: retried until they succeed, failures kept visible, nothing lost.

A transient failure (deadlock, lost connection, Redis away) schedules another try with backoff;
a lasting one marks the event failed with the reason, where the tenant's settings page shows it
and a person can run it again. The sweep re-enqueues any event whose job was lost.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

from sqlalchemy import select, update

from extensions import db
from jobs.context import app_job, tenant_job
from models import Channel, Tenant, WebhookEvent
from models.base import utcnow
from models.tenancy import each_tenant
from services.channels import provider_for
from services.inbound import apply_events
from services.queueing import INBOUND_QUEUE, claim_flight, enqueue_now, hold_flight, release_flight
from services.suspension import tenant_suspended
from services.transient import is_transient
from services.webhook_events import DRAIN_JOB, drain_flight

log = logging.getLogger(__name__)
PROCESS_JOB = "jobs.webhooks.process_webhook_event"
STALE_AFTER = timedelta(minutes=2)
# Transient failures are retried for as long as they last; the wait grows to ten minutes.
BACKOFF_SECONDS = (2, 5, 15, 60, 180, 600)
# A drain hands its worker back after this long, so one tenant's burst takes turns with the others.
DRAIN_SECONDS = 5.0
DRAIN_BATCH = 100


def backoff(attempts: int) -> int:
    """Seconds before try number `attempts + 1`."""
    return BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1]


@tenant_job
def process_webhook_event(tenant_id: int, event_id: int) -> dict | str | None:
    """Parse one stored event with its channel's adapter and apply what it says (idempotent)."""
    return _process(tenant_id, event_id)


def _fresh_event_ids() -> list[int]:
    """The tenant's oldest stored events no job has tried yet (retries keep their own schedule)."""
    return list(db.session.scalars(
        select(WebhookEvent.id).where(WebhookEvent.processed_at.is_(None), WebhookEvent.failed_at.is_(None),
                                      WebhookEvent.next_attempt_at.is_(None))
        .order_by(WebhookEvent.id).limit(DRAIN_BATCH)))


@tenant_job
def drain_webhook_events(tenant_id: int) -> int:
    """Process the tenant's stored events in arrival order until none is left; returns how many.

    It holds the tenant's single-flight key while it works, so deliveries arriving meanwhile enqueue
    nothing: the loop finds them. Releasing the key and then looking once more closes the gap for a
    delivery committed just before the release. After DRAIN_SECONDS it enqueues its own continuation,
    still holding the key, and hands the worker to the next job in line.
    """
    key = drain_flight(tenant_id)
    done = 0
    if tenant_suspended(tenant_id):
        # Kept as received; reinstating the account enqueues a drain (services.admin.actions.unsuspend).
        release_flight(key)
        return done
    deadline = time.monotonic() + DRAIN_SECONDS
    try:
        while True:
            event_ids = _fresh_event_ids()
            db.session.commit()  # end the read transaction: each event is processed in its own
            if not event_ids:
                release_flight(key)
                if not _fresh_event_ids() or not claim_flight(key):
                    return done
                continue
            for event_id in event_ids:
                _process(tenant_id, event_id)
                done += 1
                if time.monotonic() > deadline:
                    hold_flight(key)
                    enqueue_now(DRAIN_JOB, tenant_id, queue_name=INBOUND_QUEUE)
                    return done
    except Exception:
        # The database or Redis is away: let the next delivery enqueue a drain again; the sweep
        # re-enqueues what is stored meanwhile.
        _release_quietly(key)
        raise


def _release_quietly(key: str) -> None:
    try:
        release_flight(key)
    except Exception:  # Redis is away too: the key's time to live ends the flight
        log.warning("could not release %s", key)


def _process(tenant_id: int, event_id: int) -> dict | str | None:
    event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.id == event_id))
    if event is None or event.processed_at is not None or event.failed_at is not None:
        return None
    if tenant_suspended(tenant_id):
        return "suspended"  # kept as received; reinstating the account processes the backlog
    try:
        channel = db.session.scalar(select(Channel).where(Channel.id == event.channel_id))
        events = provider_for(channel).parse_webhook(json.loads(event.body))
        report = apply_events(channel, events, event.received_at)
        event.processed_at = utcnow()
        event.error = None
        event.next_attempt_at = None
        event.item_errors = report.skipped or None
        db.session.commit()
    except Exception as exc:
        _safe_rollback()
        transient = is_transient(exc)
        delay = _record_failure(tenant_id, event_id, exc, transient)
        if delay is None:
            raise  # not even the failure could be written: the sweep picks the event up again
        if transient:
            log.warning("webhook event %s: %s; retrying in %ss", event_id, type(exc).__name__, delay)
            _enqueue_retry(tenant_id, event_id, delay)
            return "retrying"
        log.exception("webhook event %s failed", event_id)
        return "failed"
    return report.counts


def _safe_rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool replaces it on next use
        db.session.close()


def _record_failure(tenant_id: int, event_id: int, exc: Exception, transient: bool) -> int | None:
    """Write the failure on the event in its own transaction; returns the retry delay, None if it could not."""
    reason = f"{type(exc).__name__}: {exc}"[:2000]
    now = utcnow()
    try:
        attempts = db.session.scalar(select(WebhookEvent.attempts).where(WebhookEvent.id == event_id)) or 0
        delay = backoff(attempts + 1)
        values = {"attempts": attempts + 1, "error": reason}
        if transient:
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        else:
            values["failed_at"] = now
        db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(**values)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        return delay
    except Exception:
        log.warning("could not record the failure of webhook event %s (tenant %s)", event_id, tenant_id)
        _safe_rollback()
        return None


def _enqueue_retry(tenant_id: int, event_id: int, delay: float) -> None:
    try:
        enqueue_now(PROCESS_JOB, tenant_id, event_id, delay=delay, queue_name=INBOUND_QUEUE)
    except Exception:  # Redis away: next_attempt_at is on the row and the sweep honours it
        log.warning("could not schedule the retry of webhook event %s; the sweep will", event_id)


def _pending(now):
    """Events stored but not done, whose job is overdue (lost with Redis, or a retry never scheduled).

    A suspended workspace's events are left out: they wait on purpose, and re-queueing them every sweep
    only to have each job skip them would be work for nothing. Reinstating it enqueues their drain.
    """
    suspended = select(Tenant.id).where(Tenant.status == Tenant.SUSPENDED)
    return (WebhookEvent.processed_at.is_(None), WebhookEvent.failed_at.is_(None),
            WebhookEvent.received_at < now - STALE_AFTER,
            WebhookEvent.next_attempt_at.is_(None) | (WebhookEvent.next_attempt_at < now - STALE_AFTER),
            WebhookEvent.tenant_id.not_in(suspended))


@app_job
def requeue_stale_events() -> int:
    """Enqueue events stored but never finished (Redis lost the job, or it was down)."""
    pending = _pending(utcnow())
    count = 0
    for tenant_id in each_tenant(WebhookEvent, *pending):
        for event_id in db.session.scalars(select(WebhookEvent.id).where(*pending)
                                           .order_by(WebhookEvent.id).limit(500)):
            enqueue_now(PROCESS_JOB, tenant_id, event_id, queue_name=INBOUND_QUEUE)
            count += 1
    return count
