"""One attempt of a delivery, in three steps so no transaction is open while a receiver is on the line.

1. `claim`: lock the due row (SKIP LOCKED: a second job for it moves on), count the attempt and lease the row by
   pushing next_attempt_at past the request's longest time, so neither the sweep nor a second job takes it; the
   attempt is logged as interrupted until it has an outcome. The job commits.
2. `post`: the signed POST (no database), through the guarded client.
3. `settle`: log the attempt's outcome, then delivered, or the next try planned after a backoff, or gave_up once the
   retry window has closed. The job commits and asks RQ for the next try at its time; the sweep recovers a
   request Redis lost. A worker killed between 1 and 3 leaves a lease that expires into the sweep.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from extensions import db
from models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from models.base import utcnow
from models.types import SecretUnreadable
from models.webhook_subscription import OPEN_STATES, DeliveryState
from services.outbound_webhooks import signing
from services.outbound_webhooks.addresses import RefusedAddress, allow_private, url_problem
from services.outbound_webhooks.deliveries import RETRY_WINDOW, enqueue_attempt
from services.outbound_webhooks.transport import TIMEOUT, get_client

LEASE = timedelta(seconds=60)      # longer than any one request may take (connect + read timeouts)
LOST_AFTER = timedelta(seconds=60)  # the sweep re-asks for attempts this late: their job was lost
MIN_DELAY, MAX_DELAY = timedelta(seconds=30), timedelta(hours=6)
EXCERPT_BYTES = 1024
# What an attempt's log says until its outcome is recorded: if it stays, the worker stopped mid-request.
INTERRUPTED = "Interrupted: the attempt ended without an outcome (the worker stopped); it is tried again."


@dataclass(frozen=True)
class Claim:
    """What a claimed attempt sends, read while the row was locked."""

    delivery_id: int
    attempt_id: int
    number: int
    url: str
    secret: str
    event_kind: str
    payload: dict


@dataclass(frozen=True)
class Result:
    """What came back: a status code (and the start of the body), or why there was no answer."""

    code: int | None = None
    error: str | None = None
    excerpt: str | None = None
    duration_ms: int = 0
    started_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300

    @property
    def summary(self) -> str:
        return self.error or f"HTTP {self.code}"


def backoff(retry_until: datetime, now: datetime) -> timedelta:
    """Wait half the time since the window opened, between 30 s and 6 h: ~20 tries in 24 h, quick ones first."""
    elapsed = now - (retry_until - RETRY_WINDOW)
    return min(max(elapsed / 2, MIN_DELAY), MAX_DELAY)


def _subscription(delivery: WebhookDelivery) -> WebhookSubscription | None:
    return db.session.scalar(select(WebhookSubscription).where(WebhookSubscription.id == delivery.subscription_id))


def _give_up(delivery: WebhookDelivery, reason: str) -> None:
    delivery.state, delivery.next_attempt_at, delivery.last_error = DeliveryState.GAVE_UP, None, reason
    db.session.flush()


def claim(delivery_id: int, now: datetime | None = None) -> Claim | None:
    """Take the delivery's due attempt (flushes), or None when it is not due, settled or taken by another job."""
    now = now or utcnow()
    delivery = db.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id, WebhookDelivery.state.in_(OPEN_STATES),
                                      WebhookDelivery.next_attempt_at <= now).with_for_update(skip_locked=True))
    if delivery is None:
        return None
    try:
        url, secret = delivery.url, delivery.secret
        if delivery.subscription_id is not None:
            subscription = _subscription(delivery)
            if subscription is None or not subscription.enabled:
                return _give_up(delivery, "Not sent: the webhook was turned off.")
            url, secret = subscription.url, subscription.secret
    except SecretUnreadable:
        # Retrying cannot help (the keys changed without re-encrypting); a new secret can.
        return _give_up(delivery, "Not sent: the signing secret cannot be read with this install's keys. "
                                  "Rotate the webhook's secret, then replay.")
    delivery.attempts += 1
    delivery.next_attempt_at = now + LEASE
    attempt = WebhookAttempt(delivery_id=delivery.id, number=delivery.attempts, started_at=now, error=INTERRUPTED)
    db.session.add(attempt)
    db.session.flush()
    return Claim(delivery.id, attempt.id, delivery.attempts, url, secret, delivery.event_kind, dict(delivery.payload))


def post(claim: Claim) -> Result:
    """POST the signed payload; never raises for the receiver's or the network's sake."""
    started, clock = utcnow(), time.monotonic()

    def done(**fields) -> Result:
        return Result(duration_ms=int((time.monotonic() - clock) * 1000), started_at=started, **fields)

    problem = url_problem(claim.url)
    if isinstance(problem, str):
        return done(error=problem)
    body = signing.encode(claim.payload)
    headers = signing.headers(claim.secret, int(time.time()), body, claim.event_kind, claim.delivery_id)
    try:
        with get_client(allow_private()).stream("POST", claim.url, content=body, headers=headers) as response:
            excerpt = b""
            for chunk in response.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
            return done(code=response.status_code, excerpt=excerpt[:EXCERPT_BYTES].decode("utf-8", "replace"))
    except RefusedAddress as exc:
        return done(error=str(exc))
    except httpx.TimeoutException:
        return done(error=f"No answer within {TIMEOUT.read:g} seconds.")
    except httpx.HTTPError as exc:
        return done(error=f"Could not connect: {exc or type(exc).__name__}")


def settle(claim: Claim, result: Result, now: datetime | None = None) -> str:
    """Log the attempt and decide what follows (flushes; asks for the next attempt after commit)."""
    now = now or utcnow()
    attempt = db.session.scalar(select(WebhookAttempt).where(WebhookAttempt.id == claim.attempt_id))
    if attempt is not None:
        attempt.started_at = result.started_at or attempt.started_at
        attempt.duration_ms, attempt.response_code = result.duration_ms, result.code
        attempt.error, attempt.response_excerpt = result.error, result.excerpt
    delivery = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == claim.delivery_id)
                                 .with_for_update())
    if delivery is None:
        return "deleted"
    if delivery.attempts != claim.number or delivery.state not in OPEN_STATES:
        db.session.flush()
        return "superseded"  # a later attempt (or a replay) owns the row now: only the log line is ours
    delivery.last_response_code, delivery.response_excerpt = result.code, result.excerpt
    if delivery.subscription_id is not None and (subscription := _subscription(delivery)) is not None:
        subscription.last_status, subscription.last_attempt_at = result.summary[:200], now
    if result.ok:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.DELIVERED, now, None
        delivery.last_error = None
        db.session.flush()
        return "delivered"
    if now >= delivery.retry_until:
        delivery.state, delivery.next_attempt_at = DeliveryState.GAVE_UP, None
        delivery.last_error = f"Gave up after {delivery.attempts} attempts over 24 hours. Last: {result.summary}"
        db.session.flush()
        return "gave_up"
    # The last try lands on the window's end exactly, so a receiver back within 24 hours still gets it.
    delivery.next_attempt_at = min(now + backoff(delivery.retry_until, now), delivery.retry_until)
    delivery.state, delivery.last_error = DeliveryState.FAILED, result.summary
    db.session.flush()
    enqueue_attempt(delivery.id, delay=(delivery.next_attempt_at - now).total_seconds())
    return "failed"


def due_criteria(now: datetime) -> tuple:
    """Attempts whose job is overdue (lost with Redis, or a worker died holding the lease)."""
    return WebhookDelivery.state.in_(OPEN_STATES), WebhookDelivery.next_attempt_at <= now - LOST_AFTER


def overdue_ids(now: datetime, limit: int) -> list[int]:
    """The current workspace's overdue deliveries, oldest first."""
    return list(db.session.scalars(select(WebhookDelivery.id).where(*due_criteria(now))
                                   .order_by(WebhookDelivery.next_attempt_at).limit(limit)))
