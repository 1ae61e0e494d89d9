"""Outbound webhooks: a workspace's subscriptions, one delivery per (subscription, event), and every attempt."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps, utcnow
from models.tenancy import TenantScoped
from models.types import EncryptedText, UTCDateTime


class DeliveryState(StrEnum):
    """pending: not tried yet (or replayed); failed: the last attempt failed and a retry is planned."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    GAVE_UP = "gave_up"


# States in which a delivery still has an attempt ahead of it at next_attempt_at.
OPEN_STATES = (DeliveryState.PENDING.value, DeliveryState.FAILED.value)


class WebhookSubscription(TenantScoped, Timestamps, db.Model):
    """An HTTPS URL of the workspace's that receives the chosen events, signed with its own secret."""

    __tablename__ = "webhook_subscriptions"

    URL_MAX = 2000

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(URL_MAX), nullable=False)
    events: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    # Readable only to sign: shown once when made or rotated, never rendered again. Deferred, so only signing
    # decrypts it: a secret the keys cannot read then stops its own sends, not the pages or the event dispatch.
    secret: Mapped[str] = mapped_column(EncryptedText, nullable=False, deferred=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    # The outcome of the latest attempt ("200", "timed out", ...), for the list page.
    last_status: Mapped[str | None] = mapped_column(String(200))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(TenantScoped, Timestamps, db.Model):
    """One event for one subscription (or one ad-hoc POST to a URL): tried until delivered or its window ends."""

    __tablename__ = "webhook_deliveries"
    __tenant_table_args__ = (
        # At-least-once events meet an idempotent consumer: a second dispatch of an event makes no second row.
        UniqueConstraint("subscription_id", "event_id"),
        ForeignKeyConstraint(["tenant_id", "subscription_id"],
                             ["webhook_subscriptions.tenant_id", "webhook_subscriptions.id"], ondelete="CASCADE"),
        Index("ix_webhook_deliveries_tenant_subscription", "tenant_id", "subscription_id", "id"),
        # The sweep: which workspaces have an attempt due, then each one's due rows.
        Index("ix_webhook_deliveries_next_attempt_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL for an ad-hoc POST (services.outbound_webhooks.send_to_url), which then carries its url and secret.
    subscription_id: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(String(WebhookSubscription.URL_MAX))
    secret: Mapped[str | None] = mapped_column(EncryptedText, deferred=True)
    # The domain event delivered; a plain id (events are pruned, deliveries are the log).
    event_id: Mapped[int | None] = mapped_column(Integer)
    event_kind: Mapped[str] = mapped_column(String(60), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Set while an attempt is ahead (due, planned, or leased by a running attempt); NULL once settled.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    # Retries stop at this time (24 hours from the first try, or from a replay).
    retry_until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_response_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookAttempt(TenantScoped, db.Model):
    """One POST of a delivery: when, what came back (code or error), how long it took."""

    __tablename__ = "webhook_attempts"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "delivery_id"], ["webhook_deliveries.tenant_id", "webhook_deliveries.id"],
                             ondelete="CASCADE"),
        Index("ix_webhook_attempts_tenant_delivery", "tenant_id", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(Integer, nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    response_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
