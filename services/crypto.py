"""Encryption at rest for secrets (MultiFernet: first key encrypts, every key decrypts)."""
from __future__ import annotations

import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


class SecretUnreadable(RuntimeError):
    """A stored secret cannot be decrypted with any configured key."""


def _fernet() -> MultiFernet:
    keys = current_app.config["ENCRYPTION_KEYS"]
    cache = current_app.extensions.setdefault("messagehub.fernet", {})
    fernet = cache.get(tuple(keys))
    if fernet is None:
        fernet = cache[tuple(keys)] = MultiFernet([Fernet(k.encode()) for k in keys])
    return fernet


def encrypt(value: str) -> str:
    """Encrypt `value` under the current key."""
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a stored token with whichever configured key made it."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("a stored secret cannot be decrypted with the configured keys") from exc


def rotate(token: str) -> str:
    """Re-encrypt a stored token under the current key."""
    return _fernet().rotate(token.encode()).decode()


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


class EncryptedText(TypeDecorator):
    """A text column stored encrypted; Python sees plaintext, the database only ciphertext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)
