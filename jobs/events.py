"""Dispatching domain events to their consumers: per workspace, oldest first, retried until taken.

The consumers register themselves when their modules are imported (services.events.CONSUMER_MODULES).
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import or_, select

from extensions import db
from jobs.context import app_job, tenant_job
from models import Tenant
from models.base import utcnow
from models.domain_event import DomainEvent
from models.tenancy import each_tenant
from services.events import DISPATCH_JOB, consumers_of, dispatch_flight, wanted_by
from services.queueing import INBOUND_QUEUE, claim_flight, enqueue_now, hold_flight, release_flight
from services.suspension import tenant_suspended

log = logging.getLogger(__name__)
BATCH = 200
# A dispatch hands its worker back after this long, so one workspace's burst takes turns with the others.
DISPATCH_SECONDS = 5.0
# A consumer's failure is retried after these waits; the last one repeats until it succeeds.
BACKOFF_SECONDS = (5, 30, 120, 600)
# Retries wait for the sweep (every minute), which also re-queues dispatches lost with Redis.
STALE_AFTER = timedelta(minutes=2)


def backoff(attempts: int) -> int:
    """Seconds before try number `attempts + 1`."""
    return BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1]


def _due_events(now) -> list[DomainEvent]:
    return list(db.session.scalars(
        select(DomainEvent).where(DomainEvent.dispatched_at.is_(None),
                                  or_(DomainEvent.next_attempt_at.is_(None), DomainEvent.next_attempt_at <= now))
        .order_by(DomainEvent.id).limit(BATCH)
        # Two dispatches of one workspace (a flight key that outlived its job) never take the same event.
        .with_for_update(skip_locked=True)))


def dispatch_one(event: DomainEvent, consumers: list | None = None) -> bool:
    """Hand `event` to each of its consumers in one savepoint; True once all took it (flushes, no commit).

    `consumers` defaults to every consumer of the kind; the dispatch loop passes those the workspace gives
    something to do, and an event nobody wants is marked dispatched without a savepoint.
    """
    now = utcnow()
    consumers = consumers_of(event.kind) if consumers is None else consumers
    if not consumers:
        event.dispatched_at, event.error, event.next_attempt_at = now, None, None
        return True
    try:
        with db.session.begin_nested():
            for consume in consumers:
                consume(event)
    except Exception as exc:
        # The savepoint took back what the consumers wrote; they all run again on the next try.
        log.warning("event %s (%s): consumer failed: %s", event.id, event.kind, type(exc).__name__)
        event.attempts += 1
        event.error = f"{type(exc).__name__}: {exc}"[:2000]
        event.next_attempt_at = now + timedelta(seconds=backoff(event.attempts))
        return False
    event.dispatched_at, event.error, event.next_attempt_at = now, None, None
    return True


@tenant_job
def dispatch_events(tenant_id: int) -> int:
    """Dispatch the workspace's due events until none is left; returns how many were taken.

    It holds the workspace's single-flight key while it works, so events committed meanwhile enqueue
    nothing: the loop finds them. Releasing the key and looking once more closes the gap for an event
    committed just before the release. After DISPATCH_SECONDS it enqueues its own continuation.
    """
    key = dispatch_flight(tenant_id)
    done = 0
    if tenant_suspended(tenant_id):
        release_flight(key)  # kept as recorded; the sweep dispatches them once the account is reinstated
        return done
    deadline = time.monotonic() + DISPATCH_SECONDS
    try:
        while True:
            events = _due_events(utcnow())
            if not events:
                db.session.commit()
                release_flight(key)
                if not _due_events(utcnow()) or not claim_flight(key):
                    return done
                continue
            # Asked once per batch: which consumers this workspace gives something to do, per kind.
            wanted = {kind: wanted_by(kind) for kind in {event.kind for event in events}}
            done += sum(dispatch_one(event, wanted[event.kind]) for event in events)
            db.session.commit()
            if time.monotonic() > deadline:
                hold_flight(key)
                enqueue_now(DISPATCH_JOB, tenant_id, queue_name=INBOUND_QUEUE)
                return done
    except Exception:
        db.session.rollback()
        release_flight(key)  # the sweep re-queues what is left
        raise


@app_job
def requeue_stale_dispatches() -> int:
    """Enqueue a dispatch for every active workspace whose events wait longer than they should."""
    now = utcnow()
    stale = (DomainEvent.dispatched_at.is_(None), DomainEvent.created_at < now - STALE_AFTER,
             or_(DomainEvent.next_attempt_at.is_(None), DomainEvent.next_attempt_at <= now))
    count = 0
    for tenant_id in each_tenant(DomainEvent, *stale):
        if db.session.scalar(select(Tenant.status).where(Tenant.id == tenant_id)) == Tenant.SUSPENDED:
            continue
        if claim_flight(dispatch_flight(tenant_id)):
            enqueue_now(DISPATCH_JOB, tenant_id, queue_name=INBOUND_QUEUE)
            count += 1
    return count
