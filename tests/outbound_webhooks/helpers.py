"""Helpers for the outbound webhook tests."""
from __future__ import annotations

import hashlib
import hmac

from extensions import db
from services import events


def emit_event(kind: str = "message.received", *, contact_id: int | None = None, subject_id: int | None = 7,
               data: dict | None = None):
    """Emit a real domain event in the workspace in context (dispatched after commit, like the app's own)."""
    event = events.emit(kind, contact_id=contact_id, subject_id=subject_id,
                        data={"text": "hello", "type": "text"} if data is None else data)
    db.session.flush()
    return event


def dispatch(tenant_id: int) -> int:
    """Run the workspace's event dispatch now (the consumers make their deliveries; their sends stay queued)."""
    from jobs.events import dispatch_events

    return dispatch_events(tenant_id)


def receiver_verifies(secret: str, headers: dict, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does, written from the README alone: HMAC-SHA256 of "<timestamp>.<body>", constant-time."""
    import time

    timestamp = headers["X-MessageHub-Timestamp"]
    if abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-MessageHub-Signature"])
