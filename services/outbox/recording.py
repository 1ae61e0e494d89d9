"""Writing what happened to a send, durably, and finishing sends a crash interrupted.

The provider's id is what makes a send final: once written, the message is never sent again.
It is written in its own short transaction the moment the provider answers, retried while the
database recovers, and parked in Redis for the reconciler if the database cannot take it at all.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import Integer, String, func, select, update

from extensions import db, get_redis
from models import Message
from models.base import utcnow
from services.bulk_sql import among, update_each
from services.transient import is_transient

log = logging.getLogger(__name__)
STUCK_AFTER = timedelta(minutes=5)
# Writing the provider's id is retried this many times, these seconds apart, while the database recovers.
RECORD_RETRY_DELAYS = (0, 0.2, 1, 3)
UNKNOWN_REASON = ("Sending was interrupted after the request left MessageHub, so WhatsApp may have received it. "
                  "It was not resent automatically, to avoid a duplicate.")
# Where a provider id waits when the database could not take it, for the reconciler to pick up.
SENT_FALLBACK_KEY = "messagehub:sent:{tenant_id}:{message_id}"
SENT_FALLBACK_TTL = 7 * 24 * 3600


def fail(message: Message, reason: str, code: str | int | None = None) -> None:
    """Mark `message` failed with a reason the tenant can read."""
    message.status, message.error_title = "failed", reason
    message.error_code = None if code is None else str(code)[:32]
    message.sending_started_at = None


def record_sent(tenant_id: int, sent: dict[int, str]) -> dict[int, str]:
    """Write the provider ids of `sent` ({message id: provider id}) at once; returns each message's outcome.

    From here on these messages must never be sent again, so losing this write is what would
    turn accepted messages into duplicates.
    """
    if not sent:
        return {}
    now = utcnow()
    for delay in RECORD_RETRY_DELAYS:
        time.sleep(delay)  # only on this rare path: the provider has the messages and the database is away
        try:
            _write_sent(sent, now)
            return dict.fromkeys(sent, "sent")
        except Exception as exc:
            safe_rollback()
            if not is_transient(exc):
                raise
            log.warning("could not record %s provider id(s) yet: %s", len(sent), type(exc).__name__)
    for message_id, provider_message_id in sent.items():
        _keep_for_reconcile(tenant_id, message_id, provider_message_id)
    return dict.fromkeys(sent, "unrecorded")


def _write_sent(sent: dict[int, str], now) -> None:
    """One UPDATE for the batch (a round trip per flush, not per message); each row keeps its own guard."""
    db.session.execute(update_each(
        Message, "provider_message_id", sent, String(128), Message.status.in_(("sending", "unknown")),
        status="sent", error_title=None, sent_at=func.coalesce(Message.sent_at, now), sending_started_at=None,
        attempts=Message.attempts + 1))
    db.session.commit()


def _keep_for_reconcile(tenant_id: int, message_id: int, provider_message_id: str) -> None:
    key = SENT_FALLBACK_KEY.format(tenant_id=tenant_id, message_id=message_id)
    try:
        get_redis().set(key, provider_message_id, ex=SENT_FALLBACK_TTL)
    except Exception:
        # Both stores are away: the row stays in `sending` and becomes "unknown", never resent.
        log.error("message %s was accepted by WhatsApp as %s but could not be recorded",
                  message_id, provider_message_id)


def release_unsent(message_ids: list[int]) -> None:
    """Give claimed rows back to the queue, untouched: no request for them ever left (a later job takes them)."""
    if message_ids:
        db.session.execute(update(Message).where(among(Message.id, message_ids, Integer), Message.status == "sending")
                           .values(status="queued", sending_started_at=None)
                           .execution_options(synchronize_session=False))
    db.session.commit()


def safe_rollback() -> None:
    """Roll back, even when the connection is gone (the pool replaces it on next use)."""
    try:
        db.session.rollback()
    except Exception:
        db.session.close()


def stuck_criteria(now):
    """Rows a crash left in `sending` long enough ago that no live job owns them."""
    return Message.status == "sending", Message.sending_started_at < now - STUCK_AFTER


def reconcile_stuck(tenant_id: int, now) -> int:
    """Finish the tenant's stuck rows: sent if the provider id is known anywhere, otherwise unknown."""
    count = 0
    for message in db.session.scalars(select(Message).where(*stuck_criteria(now))):
        key = SENT_FALLBACK_KEY.format(tenant_id=tenant_id, message_id=message.id)
        provider_message_id = message.provider_message_id or _fallback_id(key)
        if provider_message_id:
            message.provider_message_id = provider_message_id
            message.apply_status("sent")
            message.error_title = None
        else:
            message.status, message.error_title = "unknown", UNKNOWN_REASON
        message.sending_started_at = None
        count += 1
    db.session.commit()
    return count


def _fallback_id(key: str) -> str | None:
    value = get_redis().get(key)
    return value.decode() if value else None
