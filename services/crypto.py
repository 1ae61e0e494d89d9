"""Tokens for URLs and webhooks, and masking secrets for display (encryption lives in models.types)."""
from __future__ import annotations

import hashlib
import secrets


def new_token(nbytes: int = 32) -> str:
    """An unguessable URL-safe token."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """SHA-256 hex of a token, for looking a token up without storing it readable."""
    return hashlib.sha256(token.encode()).hexdigest()


def mask(secret: str | None) -> str:
    """Show only the last four characters of a secret."""
    if not secret:
        return ""
    return "••••" + secret[-4:] if len(secret) > 8 else "••••"
