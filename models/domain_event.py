"""Domain events: a transactional outbox that workflows and outbound webhooks consume after commit."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class DomainEvent(TenantScoped, db.Model):
    """Something that happened in a workspace (a message arrived, a tag was added, a deal moved).

    Written in the transaction that made the change, so it exists exactly when the change does.
    `dispatched_at` is set once every consumer has taken it; a consumer's failure leaves `error`,
    `attempts` and `next_attempt_at` for the retry. `origin` names the workflow run whose action caused
    it, so workflows can refuse to trigger themselves in a loop.
    """

    __tablename__ = "domain_events"
    __tenant_table_args__ = (
        Index("ix_domain_events_tenant_pending", "tenant_id", "dispatched_at", "id"),
    )

    KIND_MAX = 40

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND_MAX), nullable=False)
    # Plain ids, no foreign keys: an event outlives the contact or deal it speaks of.
    contact_id: Mapped[int | None] = mapped_column(Integer)
    subject_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    origin: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
