"""The batch sender: a channel's queued bulk texts and templates, many in flight from one job.

One run counts the channel's free slots in the next half second, claims that many queued bulk
messages (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a guarded UPDATE everywhere), books their slots
and hands them to the sending loop (whatsapp.async_http), which starts each at its slot over a
pooled connection while the earlier ones are in flight. Each provider id is written the moment it
arrives (in small groups, within FLUSH_EVERY), so nothing accepted is ever sent again. Then the job
enqueues the next run: at once while slots are free, or at the next free slot; it never waits for
one. Bounded batches keep it fair: a run lasts about a quarter of a second plus the provider's answer, and
replies a person is waiting on go through the interactive queue, which workers take first.
"""
from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Integer, and_, case, select, update

from extensions import db, get_redis
from models import Channel, Contact, Message
from models.base import utcnow
from services.bulk_sql import among
from services.outbox.recording import record_sent, release_unsent
from services.queueing import BULK_QUEUE, INTERACTIVE_ORIGINS, enqueue_now
from services.ratelimit import RateLimiter, rate_for
from whatsapp import async_http
from whatsapp.base import ErrorAction, MaybeSent, ProviderError
from whatsapp.cloud import template_content, text_content

BULK_JOB = "jobs.sending.send_bulk"
HORIZON = 0.25  # seconds of the channel's slots one run takes: what a crash can leave unknown
BATCH_LIMIT = 600
FLUSH_EVERY = 0.05  # seconds between writes of the provider ids that arrived meanwhile
# Without a Retry-After, a rate-limit answer holds the channel this long before its next send.
RATE_LIMIT_HOLD = 2.0
BATCH_TYPES = ("text", "template")
NEXT_RUN_KEY = "messagehub:bulk-next:{channel_id}"
MAYBE_SENT = ("{detail}. It was not resent automatically, to avoid a duplicate.")


@dataclass(frozen=True)
class Item:
    """What one send of the batch needs, read before any request leaves."""

    message_id: int
    to: str
    type: str
    body: str | None
    payload: dict | None


def takes(capabilities, message_type: str, origin: str) -> bool:
    """Whether the batch sender delivers a message of this type and origin on a provider with `capabilities`."""
    return capabilities.async_sends and message_type in BATCH_TYPES and origin not in INTERACTIVE_ORIGINS


def send_bulk(tenant_id: int, channel: Channel, provider, after_error: Callable[[int, int, Exception], str],
              own: int | None = None) -> dict[int, str]:
    """One run for `channel`: claim, book, send and record a bounded batch; returns each claimed message's outcome.

    `after_error(tenant_id, message_id, error)` does what a provider error declares (the outbox's policy).
    """
    rate, burst, _jitter = rate_for(provider.capabilities, channel.rate_per_second)
    limiter, key = RateLimiter(get_redis()), f"channel:{channel.id}"
    limit = min(BATCH_LIMIT, max(1, int(rate * HORIZON) + burst))
    free = len(limiter.reserve_many(key, rate, burst, count=limit, horizon=HORIZON, book=False))
    if free == 0:
        db.session.commit()
        _next_run(tenant_id, channel.id, limiter.next_slot(key, rate, burst))
        return {}
    claimed = _claim(tenant_id, free, own)
    if not claimed:
        return {}
    waits = limiter.reserve_many(key, rate, burst, count=len(claimed), horizon=HORIZON)
    slotted = dict(zip(claimed, waits, strict=False))
    if len(waits) < len(claimed):  # another job booked the slots meanwhile: give the rest back, untouched
        release_unsent(claimed[len(waits):])
    outgoing = _read(list(slotted))
    db.session.commit()  # nothing stays locked or open while the sends are on the wire
    outcomes = _send_and_record(tenant_id, provider, [(slotted[item.message_id], item) for item in outgoing])
    outcomes.update(_settle_errors(tenant_id, outcomes.pop("errors"), outcomes.pop("held"), limiter, key,
                                   after_error))
    if _more_due(tenant_id):
        _next_run(tenant_id, channel.id, limiter.next_slot(key, rate, burst))
    else:
        db.session.commit()
    return outcomes


def _claim(tenant_id: int, limit: int, own: int | None) -> list[int]:
    """Move up to `limit` due queued bulk messages to sending, `own` first; returns the ids this run won."""
    due = _due(tenant_id)
    first = case((Message.id == own, 0), else_=1) if own is not None else Message.id
    # Picked first, then moved by id: as one UPDATE ... WHERE id IN (locking sub-select) the planner may
    # run the sub-select again for every queued row (seconds at a few thousand queued messages).
    picked = db.session.scalars(select(Message.id).where(*due).order_by(first, Message.id).limit(limit)
                                .with_for_update(skip_locked=True)).all()
    claimed = db.session.scalars(
        update(Message).where(among(Message.id, picked, Integer), Message.status == "queued")
        .values(status="sending", sending_started_at=utcnow(), next_attempt_at=None)
        .returning(Message.id).execution_options(synchronize_session=False)).all() if picked else []
    db.session.commit()
    return sorted(claimed, key=lambda mid: (mid != own, mid))


def _due(tenant_id: int) -> tuple:
    now = utcnow()
    return (Message.tenant_id == tenant_id, Message.status == "queued", Message.direction == Message.OUTBOUND,
            Message.origin.not_in(INTERACTIVE_ORIGINS), Message.type.in_(BATCH_TYPES),
            Message.next_attempt_at.is_(None) | (Message.next_attempt_at <= now))


def _more_due(tenant_id: int) -> bool:
    return db.session.scalar(select(Message.id).where(*_due(tenant_id)).limit(1)) is not None


def _next_run(tenant_id: int, channel_id: int, wait: float) -> None:
    """Enqueue the channel's next run for its next free slot, unless one is already waiting for it."""
    db.session.commit()
    redis, key = get_redis(), NEXT_RUN_KEY.format(channel_id=channel_id)
    # One waiting run per channel: however many jobs finish a batch, the chain does not multiply.
    if redis.set(key, "1", nx=True, px=int((wait + 5) * 1000)):
        enqueue_now(BULK_JOB, tenant_id, delay=wait if wait > 0.05 else 0, queue_name=BULK_QUEUE)


def started_run(channel_id: int) -> None:
    """The waiting run has started: the next batch may enqueue another."""
    get_redis().delete(NEXT_RUN_KEY.format(channel_id=channel_id))


def _read(message_ids: list[int]) -> list[Item]:
    rows = db.session.execute(
        select(Message.id, Contact.phone, Message.type, Message.body, Message.payload)
        .join(Contact, and_(Contact.id == Message.contact_id, Contact.tenant_id == Message.tenant_id))
        .where(among(Message.id, message_ids, Integer)).order_by(Message.id))
    return [Item(mid, phone.lstrip("+"), kind, body, payload) for mid, phone, kind, body, payload in rows]


def _content(item: Item) -> dict:
    if item.type == "text":
        return text_content(item.body or "")
    spec = item.payload["template"]
    return template_content(spec["name"], spec["language"], spec["components"])


def _send_and_record(tenant_id: int, provider, batch: list[tuple[float, Item]]) -> dict:
    """Send the batch on the sending loop, writing provider ids as they arrive.

    Returns the recorded outcomes, with the errors under "errors" and the sends never started under "held".
    """
    def starter(item: Item):
        async def start():
            return (await provider.send_async(item.to, item.type, _content(item))).provider_message_id
        return start

    results: queue.Queue = queue.Queue()
    async_http.submit(async_http.pump([(wait, item.message_id, starter(item)) for wait, item in batch], results))
    outcomes: dict[int, str] = {}
    sent: dict[int, str] = {}
    errors: dict[int, Exception] = {}
    held: list[int] = []
    flushed = time.monotonic()
    while True:
        try:
            entry = results.get(timeout=FLUSH_EVERY)
        except queue.Empty:
            entry = None
        if entry is async_http.DONE:
            break
        if entry is not None:
            message_id, value = entry
            if value is async_http.HELD:
                held.append(message_id)
            elif isinstance(value, str):
                sent[message_id] = value
            else:
                errors[message_id] = value
        if sent and time.monotonic() - flushed >= FLUSH_EVERY:
            outcomes.update(record_sent(tenant_id, sent))
            sent, flushed = {}, time.monotonic()
    outcomes.update(record_sent(tenant_id, sent))
    return {**outcomes, "errors": errors, "held": held}


def _settle_errors(tenant_id: int, errors: dict[int, Exception], held: list[int], limiter: RateLimiter,
                   key: str, after_error: Callable[[int, int, Exception], str]) -> dict[int, str]:
    """Unknown for what may have arrived, the error's own action for the rest; held sends go back untouched."""
    outcomes: dict[int, str] = {}
    slow_down = [e for e in errors.values() if isinstance(e, ProviderError) and e.action is ErrorAction.RETRY]
    if slow_down:  # the provider asked us to slow down (or is struggling): no send on this channel for a while
        limiter.hold(key, max((e.retry_after or RATE_LIMIT_HOLD) for e in slow_down))
    if held:
        release_unsent(held)
        outcomes.update(dict.fromkeys(held, "queued"))
    for message_id, error in errors.items():
        if isinstance(error, MaybeSent):
            outcomes[message_id] = _unknown(message_id, error)
        elif isinstance(error, ProviderError):
            outcomes[message_id] = after_error(tenant_id, message_id, error)
        else:  # a bug, not the provider: the request may have left, so it is never resent
            outcomes[message_id] = _unknown(message_id, MaybeSent(f"Sending stopped on {type(error).__name__}"))
    return outcomes


def _unknown(message_id: int, error: MaybeSent) -> str:
    """The send may have reached WhatsApp: mark it unknown with the reason, never to be resent automatically."""
    db.session.execute(update(Message).where(Message.id == message_id, Message.status == "sending")
                       .values(status="unknown", sending_started_at=None, attempts=Message.attempts + 1,
                               error_title=MAYBE_SENT.format(detail=error.message)[:255])
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return "unknown"
