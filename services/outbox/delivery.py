"""Delivering queued messages: book slots, claim, call the provider, record each outcome.

A message moves queued -> sending -> sent | failed | unknown. Bulk texts and templates on a
provider with an async send path go to the batch sender (services.outbox.batch), which keeps
hundreds in flight from one job. Everything else (replies a person waits on, media, linked
devices) goes here: a send job delivers its message and the next queued messages of the same
queue whose slots are free now, concurrently where the provider allows it. A slot further away
is booked and the job scheduled for it: no worker sleeps on a pace. The claim is a guarded
UPDATE, so a message is sent by one job only, however many are enqueued for it.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import and_, select, update

from extensions import db, get_redis
from models import Channel, Contact, Message
from models.base import utcnow
from services.channels import ChannelSetupError, get_channel, provider_for, set_state
from services.media_links import signed_media_url
from services.media_store import media_path
from services.outbox import batch
from services.outbox.recording import fail, record_sent, release_unsent
from services.queueing import INTERACTIVE_ORIGINS, enqueue_now, send_queue
from services.ratelimit import RateLimiter, rate_for
from services.suspension import SUSPENDED_REASON, tenant_suspended
from whatsapp.base import ConnectionState, ErrorAction, ProviderError

SEND_JOB = "jobs.sending.send_message"
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = (5, 30, 120, 600)
# Only slots free now are taken: a later one is booked and the job scheduled for it, never slept on.
NOW = 0.0
# Messages one job may take: enough to keep a fast channel busy, few enough to stay fair between tenants.
BATCH_MAX = 20
_pool: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class Outgoing:
    """What a send needs, read before the network call so no transaction stays open during it."""

    message_id: int
    to: str
    type: str
    body: str | None
    payload: dict | None
    media: dict | None


def deliver(tenant_id: int, message_id: int, reserved: bool = False) -> str:
    """Send `message_id` (and near companions); returns what happened to `message_id`.

    `reserved` says the job was scheduled for a slot it already booked.
    """
    row = db.session.execute(select(Message.origin, Message.type)
                             .where(Message.id == message_id, Message.status == "queued")).first()
    if row is None:
        db.session.commit()
        return "skipped"  # sent, failed or taken by another job already
    origin, kind = row
    channel = get_channel()
    refusal = SUSPENDED_REASON if tenant_suspended(tenant_id) else _refusal(channel)
    provider = None
    if refusal is None:
        try:
            provider = provider_for(channel)
        except ChannelSetupError as exc:
            refusal = str(exc)
    if refusal is not None:
        return _refuse(message_id, refusal)
    if batch.takes(provider.capabilities, kind, origin):
        return batch.send_bulk(tenant_id, channel, provider, _after_error, own=message_id).get(message_id, "skipped")
    claim = _claim_with_slots(tenant_id, channel, provider, message_id, origin, reserved)
    if claim is None:
        return "scheduled"
    waits, own_rescheduled = claim
    # Not among the rows to send: taken by another job, or given back and scheduled for a later slot.
    own = "scheduled" if own_rescheduled else "skipped"
    if not waits:
        return own
    outgoing = _read(list(waits))
    db.session.commit()  # nothing stays locked or open while we wait on the network
    results = _send_all(provider, [(item, waits[item.message_id]) for item in outgoing])
    outcomes = record_sent(tenant_id, {mid: result for mid, result in results.items() if isinstance(result, str)})
    for mid, result in results.items():
        if not isinstance(result, str):
            outcomes[mid] = _after_error(tenant_id, mid, result)
    _continue(tenant_id, message_id, origin)
    return outcomes.get(message_id, own)


def run_bulk(tenant_id: int) -> str:
    """One run of the batch sender for the tenant's channel; says how many messages it settled."""
    channel = get_channel()
    if channel is not None:
        batch.started_run(channel.id)
    if tenant_suspended(tenant_id) or _refusal(channel) is not None:
        db.session.commit()
        return "refused"  # the rows stay queued: their own send jobs fail them with the reason
    try:
        provider = provider_for(channel)
    except ChannelSetupError:
        db.session.commit()
        return "refused"
    if not provider.capabilities.async_sends:
        db.session.commit()
        return "not batched"
    outcomes = batch.send_bulk(tenant_id, channel, provider, _after_error)
    return f"{len(outcomes)} settled"


def _continue(tenant_id: int, message_id: int, origin: str) -> None:
    """Leave a job for the next queued message of this queue, if any: batches queued together share jobs."""
    following = _companions(message_id, origin, 1)
    db.session.commit()
    if following:
        enqueue_now(SEND_JOB, tenant_id, following[0], queue_name=send_queue(origin))


def pause_channel(channel: Channel, reason: str) -> None:
    """Stop all sending on `channel` until a person fixes it; the settings page and inbox say why."""
    channel.paused_at, channel.paused_reason = utcnow(), reason
    set_state(channel, ConnectionState.ERROR, detail=reason)


def _refusal(channel: Channel | None) -> str | None:
    """Why nothing can be sent on `channel` right now, or None."""
    if channel is not None and channel.paused_at is not None:
        return f"Not sent: {channel.paused_reason}."
    if channel is None or not channel.is_connected:
        return "Not sent: WhatsApp is not connected."
    return None


def _refuse(message_id: int, reason: str) -> str:
    if not _claim([message_id]):
        return "skipped"
    message = db.session.scalar(select(Message).where(Message.id == message_id))
    fail(message, reason)
    db.session.commit()
    return "failed"


def _claim_with_slots(tenant_id: int, channel: Channel, provider, message_id: int, origin: str,
                      reserved: bool) -> tuple[dict[int, float], bool] | None:
    """Claim the message and the companions whose slots are near: ({message id: seconds until its slot},
    whether the job's own message went back to the queue for a later slot).

    Slots are counted first, rows claimed next, and only the claimed rows' slots booked, so jobs
    racing for the same companions never book slots nobody uses. A claimed row that finds no near
    slot after all (another job took it meanwhile) goes back to the queue: nobody sleeps on a far
    slot. None when the message's own slot is far: it is then booked and the job scheduled for it.
    """
    rate, burst, jitter = rate_for(provider.capabilities, channel.rate_per_second)
    limiter, key = RateLimiter(get_redis()), f"channel:{channel.id}"
    near = len(limiter.reserve_many(key, rate, burst, count=BATCH_MAX, horizon=NOW, book=False))
    if not reserved and near == 0:
        return _schedule_for_slot(tenant_id, message_id, origin, limiter.reserve(key, rate, burst, jitter=jitter))
    companions = _companions(message_id, origin, near - 1) if near > 1 else []
    claimed = sorted(_claim([message_id, *companions]), key=lambda mid: mid != message_id)  # own message first
    # A reserved job's own slot is booked already; the rest are booked now, if still near.
    needing = claimed[1:] if reserved and claimed[:1] == [message_id] else claimed
    booked = limiter.reserve_many(key, rate, burst, count=len(needing), horizon=NOW)
    waits = {mid: 0.0 for mid in claimed if mid not in needing}
    waits.update(zip(needing, booked, strict=False))
    unslotted = [mid for mid in needing if mid not in waits]
    if unslotted:
        _release(unslotted)
    if message_id in unslotted:
        _schedule_for_slot(tenant_id, message_id, origin, limiter.reserve(key, rate, burst, jitter=jitter))
    return waits, message_id in unslotted


def _schedule_for_slot(tenant_id: int, message_id: int, origin: str, wait: float) -> None:
    """The message's booked slot is `wait` seconds away: run its job then, with the slot reserved."""
    db.session.execute(update(Message).where(Message.id == message_id, Message.status == "queued")
                       .values(next_attempt_at=utcnow() + timedelta(seconds=wait))
                       .execution_options(synchronize_session=False))
    db.session.commit()
    enqueue_now(SEND_JOB, tenant_id, message_id, reserved=True, delay=wait, queue_name=send_queue(origin))
    return None


def _release(message_ids: list[int]) -> None:
    """Give claimed rows back to the queue, untouched: they were never sent (a later job takes them)."""
    release_unsent(message_ids)


def _companions(message_id: int, origin: str, limit: int) -> list[int]:
    """Other queued messages due now that travel on the same queue as `origin`, oldest first."""
    interactive = Message.origin.in_(INTERACTIVE_ORIGINS)
    now = utcnow()
    return list(db.session.scalars(
        select(Message.id).where(Message.status == "queued", Message.direction == "out", Message.id != message_id,
                                 interactive if origin in INTERACTIVE_ORIGINS else ~interactive,
                                 Message.next_attempt_at.is_(None) | (Message.next_attempt_at <= now))
        .order_by(Message.id).limit(min(limit, BATCH_MAX - 1))))


def _claim(message_ids: list[int]) -> list[int]:
    """Move the rows from queued to sending; returns the ids this job won (a row is won by one job only)."""
    claimed = db.session.scalars(
        update(Message).where(Message.id.in_(message_ids), Message.status == "queued")
        .values(status="sending", sending_started_at=utcnow(), next_attempt_at=None)
        .returning(Message.id).execution_options(synchronize_session=False)).all()
    db.session.commit()
    return list(claimed)


def _read(message_ids: list[int]) -> list[Outgoing]:
    rows = db.session.execute(
        select(Message.id, Contact.phone, Message.type, Message.body, Message.payload, Message.media)
        .join(Contact, and_(Contact.id == Message.contact_id, Contact.tenant_id == Message.tenant_id))
        .where(Message.id.in_(message_ids)).order_by(Message.id))
    return [Outgoing(mid, phone.lstrip("+"), kind, body, payload, media)
            for mid, phone, kind, body, payload, media in rows]


def _send_all(provider, sends: list[tuple[Outgoing, float]]) -> dict[int, str | Exception]:
    """Send each now (every slot taken is free now): concurrently where the provider allows it."""

    def send(item: Outgoing) -> str | Exception:
        try:
            return _call(provider, item)
        except (ProviderError, OSError) as exc:
            return exc

    if len(sends) > 1 and provider.capabilities.concurrent_sends:
        futures = {item.message_id: _executor().submit(send, item) for item, _wait in sends}
        return {mid: future.result() for mid, future in futures.items()}
    return {item.message_id: send(item) for item, _wait in sends}


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=BATCH_MAX, thread_name_prefix="send")
    return _pool


def _call(provider, outgoing: Outgoing) -> str:
    """One provider call; returns the provider's message id."""
    if outgoing.type == "text":
        return provider.send_text(outgoing.to, outgoing.body or "").provider_message_id
    if outgoing.type == "template":
        spec = outgoing.payload["template"]
        return provider.send_template(outgoing.to, spec["name"], spec["language"],
                                      spec["components"]).provider_message_id
    media = outgoing.media or {}
    if provider.capabilities.media_by_upload:
        data = Path(media_path(media["path"])).read_bytes()
        media_id = provider.upload_media(data, media["mime_type"], media.get("filename") or "file")
        return provider.send_media(outgoing.to, outgoing.type, media_id=media_id, caption=outgoing.body,
                                   filename=media.get("filename")).provider_message_id
    return provider.send_media(outgoing.to, outgoing.type, link=signed_media_url(media["path"]),
                               caption=outgoing.body, filename=media.get("filename")).provider_message_id


def _after_error(tenant_id: int, message_id: int, exc: Exception) -> str:
    """Do what the error declares: try again later, fail this message, or pause the whole channel."""
    message = db.session.scalar(select(Message).where(Message.id == message_id))
    message.attempts += 1  # a provider call was made; attempts are counted with their outcome
    if isinstance(exc, OSError):
        fail(message, f"The attachment could not be read: {exc}")
    elif exc.action is ErrorAction.UNKNOWN:
        # The request may have reached WhatsApp (no answer in time): unknown, never resent automatically.
        message.status, message.sending_started_at = "unknown", None
        message.error_title = batch.MAYBE_SENT.format(detail=exc.message)
    elif exc.action is ErrorAction.PAUSE_CHANNEL:
        pause_channel(get_channel(), exc.message)
        fail(message, f"Sending paused: {exc.message}", exc.code)
    elif exc.action is not ErrorAction.RETRY:
        fail(message, exc.message, exc.code)
    elif message.attempts >= MAX_ATTEMPTS:
        fail(message, f"Gave up after {message.attempts} attempts: {exc.message}")
    else:
        delay = exc.retry_after or BACKOFF_SECONDS[min(message.attempts, len(BACKOFF_SECONDS)) - 1]
        message.status, message.error_title = "queued", f"Retrying: {exc.message}"
        message.next_attempt_at = utcnow() + timedelta(seconds=delay)
        message.sending_started_at = None
        origin = message.origin
        db.session.commit()
        enqueue_now(SEND_JOB, tenant_id, message_id, delay=delay, queue_name=send_queue(origin))
        return "retry"
    db.session.commit()  # one commit per outcome
    return message.status
