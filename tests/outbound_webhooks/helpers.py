"""Helpers for the outbound webhook tests."""
from __future__ import annotations

import hashlib
import hmac
import itertools
from datetime import UTC, datetime
from types import SimpleNamespace

_ids = itertools.count(1000)


def fake_event(kind: str = "message.received", *, contact_id: int | None = None, subject_id: int | None = 7,
               data: dict | None = None, event_id: int | None = None):
    """A row shaped like a DomainEvent (id, kind, contact_id, subject_id, data, created_at)."""
    return SimpleNamespace(id=event_id or next(_ids), kind=kind, contact_id=contact_id, subject_id=subject_id,
                           data=data or {"text": "hello", "type": "text"}, created_at=datetime.now(UTC), origin=None)


def receiver_verifies(secret: str, headers: dict, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does, written from the README alone: HMAC-SHA256 of "<timestamp>.<body>", constant-time."""
    import time

    timestamp = headers["X-MessageHub-Timestamp"]
    if abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-MessageHub-Signature"])
