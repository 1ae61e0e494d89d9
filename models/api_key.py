"""Workspace API keys: the key itself is shown once; only its digest is stored and looked up."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class ApiKey(TenantScoped, db.Model):
    """A bearer key for /api/v1: it acts in its workspace with the scopes it was given (read, or read and write)."""

    __tablename__ = "api_keys"

    READ, WRITE = "read", "write"
    SCOPES = (READ, WRITE)
    NAME_MAX = 80
    # Keys start with this, so a leaked one is recognisable in logs and by secret scanners.
    PREFIX = "mh_"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    # "read" or "read write": a write key may read too.
    scopes: Mapped[str] = mapped_column(String(40), nullable=False, default=READ)
    key_digest: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    # The last characters, so a person can tell their keys apart without the key being readable.
    key_hint: Mapped[str] = mapped_column(String(8), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def scope_list(self) -> list[str]:
        """The key's scopes as a list."""
        return self.scopes.split()

    def allows(self, scope: str) -> bool:
        """True when the key carries `scope`."""
        return scope in self.scope_list
