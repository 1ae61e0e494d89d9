"""Raw webhook bodies, stored before processing so nothing accepted is ever lost."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class WebhookEvent(TenantScoped, db.Model):
    """One accepted webhook delivery.

    Processing retries transient failures (`attempts`, `next_attempt_at`) until it succeeds;
    `failed_at` marks an event that failed for good, with the reason in `error`, until a person
    re-runs it. `item_errors` lists the items of a delivery that were skipped, and why.
    """

    __tablename__ = "webhook_events"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"], ondelete="CASCADE"),
        Index("ix_webhook_events_tenant_pending", "tenant_id", "processed_at", "failed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(20), nullable=False)  # cloud, gateway, sandbox
    body: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    item_errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
