"""The batch sender: a channel's queued bulk texts and templates, many in flight from one job.

A run books the channel's slots a little at a time: it counts the free slots in the next HORIZON,
claims that many queued bulk messages (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a guarded UPDATE
everywhere), books them and hands them to the sending loop (whatsapp.async_http), which starts each at
its slot over a pooled connection. Shortly before the last booked slot it claims the next few, so the
sends never pause between claims, while the provider ids that arrived meanwhile are written in small
groups (within FLUSH_EVERY): nothing accepted is ever sent again, and a crash leaves unknown only what
was claimed and not yet answered (about HORIZON plus the provider's answer time of sends).

After RUN_BUDGET seconds of slots the run stops claiming, unless no other job is waiting for a worker
(then it carries on, up to LONGEST_RUN), and enqueues the next run at once while its own last answers
arrive, so another worker carries on without a gap. That keeps it fair: past its budget a run makes
way for a waiting job within one claim, and replies a person is waiting on go through the interactive
queue, which workers take first. No run waits for a slot further away than its next claim.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import LockError
from sqlalchemy import Integer, and_, any_, case, func, select, update

from extensions import db, get_redis
from models import Channel, Contact, Message
from models.base import utcnow
from services.bulk_sql import among, on_postgresql
from services.outbox.recording import record_sent, release_unsent
from services.queueing import BULK_QUEUE, INTERACTIVE_ORIGINS, enqueue_now, jobs_waiting
from services.ratelimit import RateLimiter, rate_for
from whatsapp import async_http
from whatsapp.base import ErrorAction, MaybeSent, ProviderError, RetryableError
from whatsapp.cloud import template_content, text_content

BULK_JOB = "jobs.sending.send_bulk"
HORIZON = 0.1  # seconds of the channel's slots one claim books
LEAD = 0.03  # the next claim is made this long before the last booked slot comes
RUN_BUDGET = 1.0  # seconds of slots one run books, claim after claim, before the next run takes over...
LONGEST_RUN = 5.0  # ...unless no other job is waiting for a worker, up to this long
BATCH_LIMIT = 600
FLUSH_EVERY = 0.05  # seconds between writes of the provider ids that arrived meanwhile
# Without a Retry-After, a rate-limit answer holds the channel this long before its next send.
RATE_LIMIT_HOLD = 2.0
BATCH_TYPES = ("text", "template")
NEXT_RUN_KEY = "messagehub:bulk-next:{channel_id}"
# Held by the one run of a channel that is claiming (until it stops claiming, not until its last answer).
CLAIMING_KEY = "messagehub:bulk-claiming:{channel_id}"
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
    """One run for `channel`: claim, book, send and record batch after batch; returns each claimed message's outcome.

    `after_error(tenant_id, message_id, error)` does what a provider error declares (the outbox's policy).
    """
    rate, burst, _jitter = rate_for(provider.capabilities, channel.rate_per_second)
    limiter, key = RateLimiter(get_redis()), f"channel:{channel.id}"
    claiming = get_redis().lock(CLAIMING_KEY.format(channel_id=channel.id), timeout=RUN_BUDGET + 5)
    if not claiming.acquire(blocking=False):
        db.session.commit()
        return {}  # another run of this channel is claiming; it enqueues the next run when it stops
    try:
        return _run(tenant_id, channel.id, provider, limiter, key, (rate, burst), claiming, own, after_error)
    finally:
        _let_go(claiming)  # a run that failed before handing over: the next may claim at once


def _run(tenant_id: int, channel_id: int, provider, limiter: RateLimiter, key: str, pace: tuple[float, int],
         claiming, own: int | None, after_error) -> dict[int, str]:
    rate, burst = pace
    run = _Run(tenant_id, provider)
    started = time.monotonic()
    deadline = started + RUN_BUDGET
    claim_at, handed_over = time.monotonic(), False
    while True:
        if run.claiming and time.monotonic() >= claim_at:
            if time.monotonic() >= deadline and time.monotonic() < started + LONGEST_RUN and not jobs_waiting():
                deadline += RUN_BUDGET  # nobody to make way for: carry on without a hand-over gap
            last_slot = _claim_next(run, limiter, key, rate, burst, own) if time.monotonic() < deadline else None
            if last_slot is None:
                run.claiming = False
            else:
                own, claim_at = None, time.monotonic() + max(0.0, last_slot - LEAD)
        if not run.claiming and not handed_over:
            handed_over = True
            if run.halted.is_set():  # the provider asked to slow down: no run of this channel sends before the hold
                limiter.hold(key, _hold_for(run.errors.values()))
            _let_go(claiming)
            # Out of budget, slots or messages: the next run starts now, while this one's answers arrive.
            _hand_over(tenant_id, channel_id, limiter.next_slot(key, rate, burst))
        if not run.claiming and run.pumps == 0:
            break
        run.collect(until=claim_at if run.claiming else None)
    outcomes = run.finish()
    outcomes.update(_settle_errors(tenant_id, run.errors, run.held, limiter, key, after_error))
    return outcomes


def _let_go(claiming) -> None:
    """Release the channel's claiming lock if this run still holds it (it expires on its own otherwise)."""
    try:
        claiming.release()
    except LockError:
        pass  # released already, or expired after a run slower than its budget


def _claim_next(run: _Run, limiter: RateLimiter, key: str, rate: float, burst: int, own: int | None) -> float | None:
    """Claim and start the messages of the next free slots; returns when the last one starts, or None if none did."""
    run.flush()  # what answered so far is final before the claim: less is left unknown if the process dies in it
    limit = min(BATCH_LIMIT, max(1, int(rate * HORIZON) + burst))
    free = len(limiter.reserve_many(key, rate, burst, count=limit, horizon=HORIZON, book=False))
    if free == 0:
        return None
    claimed = _claim(run.tenant_id, free, own)
    if not claimed:
        db.session.commit()
        return None
    waits = limiter.reserve_many(key, rate, burst, count=len(claimed), horizon=HORIZON)
    slotted = dict(zip(claimed, waits, strict=False))
    if len(waits) < len(claimed):  # a per-message send booked slots meanwhile: give the rest back, untouched
        release_unsent(claimed[len(waits):])
    outgoing = _read(list(slotted))
    db.session.commit()  # nothing stays locked or open while the sends are on the wire
    if not outgoing:
        return None
    run.start([(slotted[item.message_id], item) for item in outgoing])
    return max(slotted.values())


def _claim(tenant_id: int, limit: int, own: int | None) -> list[int]:
    """Move up to `limit` due queued bulk messages to sending, `own` first; returns the ids this run won.

    The caller commits (before any of them is sent).
    """
    due = _due(tenant_id)
    first = case((Message.id == own, 0), else_=1) if own is not None else Message.id
    picking = select(Message.id).where(*due).order_by(first, Message.id).limit(limit).with_for_update(skip_locked=True)
    if on_postgresql():
        # One statement: the locking pick becomes an array computed once (`= ANY(ARRAY(...))`), where an
        # `IN (sub-select)` may be re-run by the planner for every queued row.
        chosen = Message.id == any_(func.array(picking.scalar_subquery()))
    else:
        chosen = Message.id.in_(db.session.scalars(picking).all())
    claimed = db.session.scalars(
        update(Message).where(chosen, Message.status == "queued")
        .values(status="sending", sending_started_at=utcnow(), next_attempt_at=None)
        .returning(Message.id).execution_options(synchronize_session=False)).all()
    return sorted(claimed, key=lambda mid: (mid != own, mid))


def _due(tenant_id: int) -> tuple:
    now = utcnow()
    return (Message.tenant_id == tenant_id, Message.status == "queued", Message.direction == Message.OUTBOUND,
            Message.origin.not_in(INTERACTIVE_ORIGINS), Message.type.in_(BATCH_TYPES),
            Message.next_attempt_at.is_(None) | (Message.next_attempt_at <= now))


def _more_due(tenant_id: int) -> bool:
    return db.session.scalar(select(Message.id).where(*_due(tenant_id)).limit(1)) is not None


def _hand_over(tenant_id: int, channel_id: int, wait: float) -> None:
    """Enqueue the channel's next run for its next free slot if messages are due, unless one is already waiting."""
    more = _more_due(tenant_id)
    db.session.commit()
    if not more:
        return
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


class _Run:
    """The sends one run has started, and what came back: provider ids written as they arrive, errors kept."""

    def __init__(self, tenant_id: int, provider):
        self.tenant_id, self.provider = tenant_id, provider
        self.results: queue.Queue = queue.Queue()
        self.halted = threading.Event()  # a retryable error: no send of this run starts after it
        self.claiming, self.pumps = True, 0
        self.outcomes: dict[int, str] = {}
        self.sent: dict[int, str] = {}
        self.errors: dict[int, Exception] = {}
        self.held: list[int] = []
        self.flushed = time.monotonic()

    def start(self, batch: list[tuple[float, Item]]) -> None:
        """Hand a batch ((seconds from now, item), soonest first) to the sending loop."""
        provider = self.provider

        def starter(item: Item):
            async def start():
                return (await provider.send_async(item.to, item.type, _content(item))).provider_message_id
            return start

        self.pumps += 1
        async_http.submit(async_http.pump([(wait, item.message_id, starter(item)) for wait, item in batch],
                                          self.results, halt=self.halted))

    def collect(self, until: float | None) -> None:
        """Take the outcomes that arrive for up to FLUSH_EVERY (or until `until`), writing provider ids due."""
        timeout = FLUSH_EVERY if until is None else max(0.001, min(FLUSH_EVERY, until - time.monotonic()))
        try:
            entry = self.results.get(timeout=timeout)
        except queue.Empty:
            entry = None
        if entry is async_http.DONE:
            self.pumps -= 1
        elif entry is not None:
            message_id, value = entry
            if value is async_http.HELD:
                self.held.append(message_id)
            elif isinstance(value, str):
                self.sent[message_id] = value
            else:
                self.errors[message_id] = value
                if isinstance(value, RetryableError):
                    self.claiming = False
        if self.sent and time.monotonic() - self.flushed >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write the provider ids that arrived since the last write."""
        if self.sent:
            self.outcomes.update(record_sent(self.tenant_id, self.sent))
        self.sent, self.flushed = {}, time.monotonic()

    def finish(self) -> dict[int, str]:
        """Write the last provider ids; returns the recorded outcomes."""
        self.flush()
        return self.outcomes


def _settle_errors(tenant_id: int, errors: dict[int, Exception], held: list[int], limiter: RateLimiter,
                   key: str, after_error: Callable[[int, int, Exception], str]) -> dict[int, str]:
    """Unknown for what may have arrived, the error's own action for the rest; held sends go back untouched."""
    outcomes: dict[int, str] = {}
    if any(_slows_down(e) for e in errors.values()):  # later answers may ask for a longer hold than the first
        limiter.hold(key, _hold_for(errors.values()))
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


def _slows_down(error: Exception) -> bool:
    """The provider asked us to slow down (or is struggling)."""
    return isinstance(error, ProviderError) and error.action is ErrorAction.RETRY


def _hold_for(errors) -> float:
    """How long the channel sends nothing after these errors: the longest Retry-After, or RATE_LIMIT_HOLD."""
    return max([(e.retry_after or RATE_LIMIT_HOLD) for e in errors if _slows_down(e)] or [RATE_LIMIT_HOLD])


def _unknown(message_id: int, error: MaybeSent) -> str:
    """The send may have reached WhatsApp: mark it unknown with the reason, never to be resent automatically."""
    db.session.execute(update(Message).where(Message.id == message_id, Message.status == "sending")
                       .values(status="unknown", sending_started_at=None, attempts=Message.attempts + 1,
                               error_title=MAYBE_SENT.format(detail=error.message)[:255])
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return "unknown"
