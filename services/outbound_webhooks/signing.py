"""Signing webhook requests: HMAC-SHA256 over "<timestamp>.<body>" with the subscription's secret.

Headers on every request (README › Outbound webhooks shows a receiver checking them):
    X-MessageHub-Timestamp: 1795449600                 Unix seconds when the attempt was signed
    X-MessageHub-Signature: v1=<hex HMAC-SHA256>       over the bytes  timestamp + "." + raw body
    X-MessageHub-Event: message.received               the event kind
    X-MessageHub-Delivery: 42                          the delivery id: the same on every retry and replay
The timestamp lets a receiver refuse replays of an old request (we suggest five minutes of tolerance); the
delivery id lets it ignore a delivery it has already processed.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
TIMESTAMP_HEADER = "X-MessageHub-Timestamp"
SIGNATURE_HEADER = "X-MessageHub-Signature"
EVENT_HEADER = "X-MessageHub-Event"
DELIVERY_HEADER = "X-MessageHub-Delivery"


def new_secret() -> str:
    """A fresh signing secret (shown once; the whole string, prefix included, is the HMAC key)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def encode(payload: dict[str, Any]) -> bytes:
    """The request body for `payload`: compact JSON, the same bytes on every attempt."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def headers(secret: str, timestamp: int, body: bytes, event_kind: str, delivery_id: int) -> dict[str, str]:
    """Every header of a signed webhook request."""
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        EVENT_HEADER: event_kind,
        DELIVERY_HEADER: str(delivery_id),
    }
