"""Raw webhook bodies, stored before processing so nothing accepted is ever lost."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow
from models.tenancy import TenantScoped


class WebhookEvent(TenantScoped, db.Model):
    """One accepted webhook delivery; `error` says why processing failed, if it did."""

    __tablename__ = "webhook_events"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(20), nullable=False)  # cloud, gateway, sandbox
    body: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
