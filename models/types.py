"""Column types: datetimes that are always UTC-aware, and text stored encrypted."""
from __future__ import annotations

from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import DateTime, Text
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timestamp that is timezone-aware UTC in Python on every database.

    SQLite stores no zone and hands back naive values; they were written as UTC, so they are read as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: MessageHub stores only timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
    """Encrypt `value` under the current key (MultiFernet: the first key encrypts, every key decrypts)."""
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


class EncryptedText(TypeDecorator):
    """A text column stored encrypted; Python sees plaintext, the database only ciphertext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)
