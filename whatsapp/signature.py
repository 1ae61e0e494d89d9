"""HMAC-SHA256 signatures of webhook bodies (Meta's X-Hub-Signature-256 header)."""
from __future__ import annotations

import hashlib
import hmac

_PREFIX = "sha256="


def sign_payload(app_secret: str, raw_body: bytes) -> str:
    """Return the `sha256=<hex>` signature Meta sends for this exact body."""
    digest = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify_signature(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """True only if `header` is a well-formed signature of `raw_body` under `app_secret`."""
    if not app_secret or not header or not isinstance(header, str):
        return False
    header = header.strip()
    if not header.lower().startswith(_PREFIX):
        return False
    received = header[len(_PREFIX):].lower()
    # A SHA-256 hex digest is exactly 64 hex characters; anything else is malformed.
    if len(received) != 64 or any(c not in "0123456789abcdef" for c in received):
        return False
    expected = sign_payload(app_secret, raw_body)[len(_PREFIX):]
    # compare_digest keeps the comparison time independent of where the strings differ.
    return hmac.compare_digest(expected, received)
