"""Tags label contacts."""
from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps
from models.tenancy import TenantScoped


class Tag(TenantScoped, Timestamps, db.Model):
    """A named, coloured label; names are unique per tenant."""

    __tablename__ = "tags"
    __tenant_table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    color: Mapped[str] = mapped_column(String(7), nullable=False, default="#6c757d")
