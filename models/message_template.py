"""WhatsApp message templates synced from the tenant's Cloud API account."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class MessageTemplate(TenantScoped, Timestamps, db.Model):
    """One template in one language, as Meta approved it."""

    __tablename__ = "message_templates"
    __tenant_table_args__ = (UniqueConstraint("tenant_id", "name", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(512), nullable=False)
    language: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(30), nullable=False)
    category: Mapped[str | None] = mapped_column(String(30))
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    body_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    variable_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_approved(self) -> bool:
        """Only approved templates can be sent."""
        return self.status.upper() == "APPROVED"
