"""Delivering queued messages: claim, pace, call the provider, record the outcome.

A message moves queued -> sending -> sent | failed. The claim is a guarded UPDATE, so a job
that runs twice (RQ retry, a sweep, a duplicate enqueue) sends once. A row left in `sending`
by a crash is reconciled by `reconcile_outbox`, never blindly sent again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from extensions import db, get_redis
from jobs.context import app_job, enqueue_now, tenant_job
from models import Channel, Message
from models.base import utcnow
from models.tenancy import tenant_ids_where, tenant_scope
from services.channels import ChannelSetupError, get_channel, provider_for, set_state
from services.media_links import signed_media_url
from services.media_store import media_path
from services.ratelimit import RateLimiter, RateLimitTimeout, channel_rate
from whatsapp.base import ChannelError, ConnectionState, ProviderError, RecipientError, RetryableError

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = (5, 30, 120, 600)
STUCK_AFTER = timedelta(minutes=5)


def _claim(message_id: int) -> bool:
    """Move the row from queued to sending; only one job can win."""
    now = utcnow()
    result = db.session.execute(
        update(Message).where(Message.id == message_id, Message.status == "queued")
        .values(status="sending", attempts=Message.attempts + 1, sending_started_at=now, next_attempt_at=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def _fail(message: Message, reason: str, code: str | int | None = None) -> None:
    message.status, message.error_title = "failed", reason
    message.error_code = None if code is None else str(code)
    message.sending_started_at = None


@dataclass(frozen=True)
class Outgoing:
    """What a send needs, read before the network call so no transaction stays open during it."""

    channel_kind: str
    to: str
    type: str
    body: str | None
    payload: dict | None
    media: dict | None


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


def _retry_later(tenant_id: int, message: Message, reason: str, delay: float | None = None) -> None:
    if message.attempts >= MAX_ATTEMPTS:
        _fail(message, f"Gave up after {message.attempts} attempts: {reason}")
        return
    delay = delay if delay is not None else BACKOFF_SECONDS[min(message.attempts, len(BACKOFF_SECONDS)) - 1]
    message.status, message.error_title = "queued", f"Retrying: {reason}"
    message.next_attempt_at = utcnow() + timedelta(seconds=delay)
    message.sending_started_at = None
    db.session.commit()
    enqueue_now(send_message, tenant_id, message.id, delay=delay)


def pause_channel(channel: Channel, reason: str) -> None:
    """Stop all sending on `channel` until a person fixes it; the settings page and inbox say why."""
    channel.paused_at, channel.paused_reason = utcnow(), reason
    set_state(channel, ConnectionState.ERROR, detail=reason)


@tenant_job
def send_message(tenant_id: int, message_id: int) -> str:
    """Deliver one queued message; returns what happened (for logs and tests)."""
    if not _claim(message_id):
        return "skipped"
    message = db.session.scalar(select(Message).where(Message.id == message_id))
    contact = message.contact
    channel = get_channel()
    if channel is None or channel.paused_at is not None or not channel.is_connected:
        reason = channel.paused_reason if channel is not None and channel.paused_at else "WhatsApp is not connected"
        _fail(message, f"Not sent: {reason}.")
        db.session.commit()
        return "failed"
    rate, burst, jitter = channel_rate(channel.kind, channel.rate_per_second)
    outgoing = Outgoing(channel.kind, contact.phone.lstrip("+"), message.type, message.body, message.payload,
                        message.media)
    channel_id = channel.id
    try:
        provider = provider_for(channel)
    except ChannelSetupError as exc:
        _fail(message, str(exc))
        db.session.commit()
        return "failed"
    db.session.commit()  # nothing stays locked or open while we wait on the limiter and the network
    try:
        RateLimiter(get_redis()).acquire(f"channel:{channel_id}", rate, burst, jitter=jitter, timeout=20)
        provider_message_id = _deliver(provider, outgoing)
    except RateLimitTimeout:
        message.attempts -= 1  # waiting for our own pacing is not a failed attempt
        _retry_later(tenant_id, message, "waiting for the sending rate limit", delay=1)
        return "requeued"
    except RetryableError as exc:
        _retry_later(tenant_id, message, exc.message, delay=exc.retry_after)
        db.session.commit()
        return "retry" if message.status == "queued" else "failed"
    except ChannelError as exc:
        pause_channel(get_channel(), exc.message)
        _fail(message, f"Sending paused: {exc.message}", exc.code)
    except (RecipientError, ProviderError) as exc:
        _fail(message, exc.message, exc.code)
    except OSError as exc:
        _fail(message, f"The attachment could not be read: {exc}")
    else:
        # Record the provider id at once: from here on this message must never be sent again.
        message.provider_message_id = provider_message_id
        message.apply_status("sent")
        message.error_title = None
        message.sending_started_at = None
    db.session.commit()
    return message.status


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
                if message.provider_message_id:
                    message.apply_status("sent")
                else:
                    # The provider may or may not have it; sending again could duplicate it.
                    _fail(message, "Sending was interrupted and it is unknown whether WhatsApp received it; "
                                   "not resent automatically. Use Retry if the customer did not get it.")
                counts["reconciled"] += 1
            db.session.commit()
    for tenant_id in tenant_ids_where(Message, *due):
        with tenant_scope(tenant_id):
            for message_id in db.session.scalars(select(Message.id).where(*due).limit(1000)):
                enqueue_now(send_message, tenant_id, message_id)
                counts["requeued"] += 1
    return counts
