"""Delivering queued messages: book a slot, claim, call the provider, record the outcome.

A message moves queued -> sending -> sent | failed | unknown. The claim is a guarded UPDATE,
so a job that runs twice (RQ retry, a sweep, a duplicate enqueue) sends once. A send that must
wait for its rate slot books the slot and is scheduled for then: no worker sleeps on another
tenant's pace. The provider's id is written in its own short transaction the moment it answers;
a row left in `sending` with no id is reconciled as "unknown", never blindly sent again.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from extensions import db, get_redis
from jobs.context import app_job, tenant_job
from models import Channel, Message
from models.base import utcnow
from models.tenancy import tenant_ids_where, tenant_scope
from services.channels import ChannelSetupError, get_channel, provider_for, set_state
from services.media_links import signed_media_url
from services.media_store import media_path
from services.queueing import enqueue_now, send_queue
from services.ratelimit import RateLimiter, channel_rate
from services.transient import is_transient
from whatsapp.base import ConnectionState, ErrorAction, ProviderError

log = logging.getLogger(__name__)
SEND_JOB = "jobs.sending.send_message"
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = (5, 30, 120, 600)
STUCK_AFTER = timedelta(minutes=5)
# A wait this short costs less slept than rescheduled (RQ's scheduler ticks about once a second).
SLEEP_AT_MOST = 0.5
# Writing the provider's id is retried this many times, these seconds apart, while the database recovers.
RECORD_RETRY_DELAYS = (0, 0.2, 1, 3)
UNKNOWN_REASON = ("Sending was interrupted after the request left MessageHub, so WhatsApp may have received it. "
                  "It was not resent automatically, to avoid a duplicate.")
# Where a provider id waits when the database could not take it, for the reconciler to pick up.
SENT_FALLBACK_KEY = "messagehub:sent:{tenant_id}:{message_id}"
SENT_FALLBACK_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class Outgoing:
    """What a send needs, read before the network call so no transaction stays open during it."""

    channel_kind: str
    to: str
    type: str
    body: str | None
    payload: dict | None
    media: dict | None


def _claim(message_id: int) -> bool:
    """Move the row from queued to sending; only one job can win."""
    result = db.session.execute(
        update(Message).where(Message.id == message_id, Message.status == "queued")
        .values(status="sending", attempts=Message.attempts + 1, sending_started_at=utcnow(), next_attempt_at=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def _fail(message: Message, reason: str, code: str | int | None = None) -> None:
    message.status, message.error_title = "failed", reason
    message.error_code = None if code is None else str(code)[:32]
    message.sending_started_at = None


def _refusal(channel: Channel | None) -> str | None:
    """Why nothing can be sent on `channel` right now, or None."""
    if channel is not None and channel.paused_at is not None:
        return f"Not sent: {channel.paused_reason}."
    if channel is None or not channel.is_connected:
        return "Not sent: WhatsApp is not connected."
    return None


def _wait_for_slot(tenant_id: int, message_id: int) -> str | None:
    """Book the channel's next send slot; a far one reschedules the job for then ("scheduled").

    The message's status is not read here: the claim that follows is guarded anyway, and a slot
    booked for a message that turns out to be sent already is merely skipped.
    """
    channel = get_channel()
    if _refusal(channel) is not None:
        return None  # the claim that follows fails the message with the reason
    rate, burst, jitter = channel_rate(channel.kind, channel.rate_per_second)
    wait = RateLimiter(get_redis()).reserve(f"channel:{channel.id}", rate, burst, jitter=jitter)
    if wait <= SLEEP_AT_MOST:
        time.sleep(wait)
        return None
    origin = db.session.scalar(
        update(Message).where(Message.id == message_id, Message.status == "queued")
        .values(next_attempt_at=utcnow() + timedelta(seconds=wait)).returning(Message.origin)
        .execution_options(synchronize_session=False))
    db.session.commit()
    if origin is None:
        return "skipped"
    enqueue_now(SEND_JOB, tenant_id, message_id, reserved=True, delay=wait, queue_name=send_queue(origin))
    return "scheduled"


def _deliver(provider, outgoing: Outgoing) -> str:
    if outgoing.type == "text":
        return provider.send_text(outgoing.to, outgoing.body or "").provider_message_id
    if outgoing.type == "template":
        spec = outgoing.payload["template"]
        return provider.send_template(outgoing.to, spec["name"], spec["language"],
                                      spec["components"]).provider_message_id
    media = outgoing.media or {}
    if outgoing.channel_kind == Channel.CLOUD:
        data = Path(media_path(media["path"])).read_bytes()
        media_id = provider.upload_media(data, media["mime_type"], media.get("filename") or "file")
        return provider.send_media(outgoing.to, outgoing.type, media_id=media_id, caption=outgoing.body,
                                   filename=media.get("filename")).provider_message_id
    return provider.send_media(outgoing.to, outgoing.type, link=signed_media_url(media["path"]),
                               caption=outgoing.body, filename=media.get("filename")).provider_message_id


def pause_channel(channel: Channel, reason: str) -> None:
    """Stop all sending on `channel` until a person fixes it; the settings page and inbox say why."""
    channel.paused_at, channel.paused_reason = utcnow(), reason
    set_state(channel, ConnectionState.ERROR, detail=reason)


@tenant_job
def send_message(tenant_id: int, message_id: int, reserved: bool = False) -> str:
    """Deliver one queued message; returns what happened (for logs and tests).

    `reserved` says the job was scheduled for a slot it already booked.
    """
    if not reserved:
        outcome = _wait_for_slot(tenant_id, message_id)
        if outcome is not None:
            return outcome
    if not _claim(message_id):
        return "skipped"
    message = db.session.scalar(select(Message).where(Message.id == message_id))
    channel = get_channel()
    refusal = _refusal(channel)
    try:
        provider = provider_for(channel) if refusal is None else None
    except ChannelSetupError as exc:
        refusal = str(exc)
    if refusal is not None:
        _fail(message, refusal)
        db.session.commit()
        return "failed"
    outgoing = Outgoing(channel.kind, message.contact.phone.lstrip("+"), message.type, message.body,
                        message.payload, message.media)
    db.session.commit()  # nothing stays locked or open while we wait on the network
    try:
        provider_message_id = _deliver(provider, outgoing)
    except ProviderError as exc:
        return _after_provider_error(tenant_id, message_id, exc)
    except OSError as exc:
        reason = f"The attachment could not be read: {exc}"
        return _finish(message_id, lambda m: _fail(m, reason))
    return _record_sent(tenant_id, message_id, provider_message_id)


def _finish(message_id: int, change) -> str:
    """Apply `change` to the message and commit: one commit per outcome."""
    message = db.session.scalar(select(Message).where(Message.id == message_id))
    change(message)
    db.session.commit()
    return message.status


def _after_provider_error(tenant_id: int, message_id: int, exc: ProviderError) -> str:
    """Do what the error says: try again later, fail this message, or pause the whole channel."""
    if exc.action is ErrorAction.PAUSE_CHANNEL:
        pause_channel(get_channel(), exc.message)
        return _finish(message_id, lambda m: _fail(m, f"Sending paused: {exc.message}", exc.code))
    if exc.action is not ErrorAction.RETRY:
        return _finish(message_id, lambda m: _fail(m, exc.message, exc.code))
    message = db.session.scalar(select(Message).where(Message.id == message_id))
    if message.attempts >= MAX_ATTEMPTS:
        _fail(message, f"Gave up after {message.attempts} attempts: {exc.message}")
        db.session.commit()
        return "failed"
    delay = exc.retry_after or BACKOFF_SECONDS[min(message.attempts, len(BACKOFF_SECONDS)) - 1]
    message.status, message.error_title = "queued", f"Retrying: {exc.message}"
    message.next_attempt_at = utcnow() + timedelta(seconds=delay)
    message.sending_started_at = None
    origin = message.origin
    db.session.commit()
    enqueue_now(SEND_JOB, tenant_id, message_id, delay=delay, queue_name=send_queue(origin))
    return "retry"


def _record_sent(tenant_id: int, message_id: int, provider_message_id: str) -> str:
    """Write the provider's id at once, in its own short transaction, retried while the database recovers.

    From here on the message must never be sent again, so losing this write is what would
    turn an accepted message into a duplicate.
    """
    now = utcnow()
    statement = (update(Message).where(Message.id == message_id, Message.status.in_(("sending", "unknown")))
                 .values(provider_message_id=provider_message_id, status="sent", error_title=None,
                         sent_at=func.coalesce(Message.sent_at, now), sending_started_at=None)
                 .execution_options(synchronize_session=False))
    for delay in RECORD_RETRY_DELAYS:
        time.sleep(delay)  # only on this rare path: the provider has the message and the database is away
        try:
            _write(statement)
            return "sent"
        except Exception as exc:
            _safe_rollback()
            if not is_transient(exc):
                raise
            log.warning("could not record provider id of message %s yet: %s", message_id, type(exc).__name__)
    _keep_for_reconcile(tenant_id, message_id, provider_message_id)
    return "unrecorded"


def _write(statement) -> None:
    """Run one statement in its own transaction."""
    db.session.execute(statement)
    db.session.commit()


def _keep_for_reconcile(tenant_id: int, message_id: int, provider_message_id: str) -> None:
    key = SENT_FALLBACK_KEY.format(tenant_id=tenant_id, message_id=message_id)
    try:
        get_redis().set(key, provider_message_id, ex=SENT_FALLBACK_TTL)
    except Exception:
        # Both stores are away: the row stays in `sending` and becomes "unknown", never resent.
        log.error("message %s was accepted by WhatsApp as %s but could not be recorded",
                  message_id, provider_message_id)


def _safe_rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool replaces it on next use
        db.session.close()


def _reconcile_stuck(tenant_id: int, message: Message) -> None:
    """A row left in `sending`: sent if its provider id is known anywhere, otherwise unknown."""
    key = SENT_FALLBACK_KEY.format(tenant_id=tenant_id, message_id=message.id)
    provider_message_id = message.provider_message_id or _fallback_id(key)
    if provider_message_id:
        message.provider_message_id = provider_message_id
        message.apply_status("sent")
        message.error_title = None
    else:
        message.status, message.error_title = "unknown", UNKNOWN_REASON
    message.sending_started_at = None


def _fallback_id(key: str) -> str | None:
    value = get_redis().get(key)
    return value.decode() if value else None


@app_job
def reconcile_outbox() -> dict[str, int]:
    """Finish rows a crash left in `sending`, and re-enqueue queued rows whose job Redis lost."""
    now = utcnow()
    counts = {"reconciled": 0, "requeued": 0}
    stuck = (Message.status == "sending", Message.sending_started_at < now - STUCK_AFTER)
    due = (Message.status == "queued", Message.created_at < now - timedelta(minutes=2),
           (Message.next_attempt_at.is_(None)) | (Message.next_attempt_at < now - timedelta(minutes=1)))
    for tenant_id in tenant_ids_where(Message, *stuck):
        with tenant_scope(tenant_id):
            for message in db.session.scalars(select(Message).where(*stuck)):
                _reconcile_stuck(tenant_id, message)
                counts["reconciled"] += 1
            db.session.commit()
    for tenant_id in tenant_ids_where(Message, *due):
        with tenant_scope(tenant_id):
            for message_id, origin in db.session.execute(select(Message.id, Message.origin).where(*due).limit(1000)):
                enqueue_now(SEND_JOB, tenant_id, message_id, queue_name=send_queue(origin))
                counts["requeued"] += 1
    return counts
