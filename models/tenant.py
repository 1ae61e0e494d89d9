"""The tenant: an account created at sign-up, root of every tenant-owned row."""
from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps


class Tenant(Timestamps, db.Model):
    """An account; not TenantScoped because it *is* the scope."""

    __tablename__ = "tenants"

    ACTIVE = "active"
    SUSPENDED = "suspended"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=ACTIVE)
    # ISO 3166 region used to read phone numbers typed without a country code.
    default_region: Mapped[str] = mapped_column(String(2), nullable=False, default="US")

    @property
    def is_suspended(self) -> bool:
        """True when an admin suspended the account."""
        return self.status == self.SUSPENDED
