"""Broadcasts: one message to many contacts, with a recipient row per contact snapshot at start."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import BroadcastStatus, RecipientState
from extensions import db
from models.base import Timestamps
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class Broadcast(TenantScoped, Timestamps, db.Model):
    """What is sent (text with placeholders or a template with mapped variables) and to whom.

    `audience` is `{"kind": "all" | "tags" | "segment", "tag_ids": [...], "segment_id": n}`; it is read
    once, when sending starts, into recipient rows.
    """

    __tablename__ = "broadcasts"
    __tenant_table_args__ = (Index("ix_broadcasts_tenant_status_scheduled", "tenant_id", "status", "scheduled_at"),)

    NAME_MAX = 120

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=BroadcastStatus.DRAFT)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # Text with {{name}}, {{first_name}}, {{custom.<key>}} (each with an optional "|fallback"), or a template.
    body: Mapped[str | None] = mapped_column(Text)
    # A template by name and language, not by row: a template sync may replace the row.
    template_name: Mapped[str | None] = mapped_column(String(512))
    template_language: Mapped[str | None] = mapped_column(String(20))
    # One entry per template variable: {"source": "name" | "field:<key>" | "custom", "value": "..."}.
    template_variables: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    # Why the broadcast stopped on its own (channel paused, template gone), shown on its page.
    error: Mapped[str | None] = mapped_column(Text)


class BroadcastRecipient(TenantScoped, db.Model):
    """One contact of one broadcast: messaged at most once, whatever happens to tags or workers."""

    __tablename__ = "broadcast_recipients"
    __tenant_table_args__ = (
        UniqueConstraint("tenant_id", "broadcast_id", "contact_id"),
        ForeignKeyConstraint(["tenant_id", "broadcast_id"], ["broadcasts.tenant_id", "broadcasts.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"], ondelete="CASCADE"),
        # The sender claims the next queued rows of a broadcast in id order.
        Index("ix_broadcast_recipients_tenant_broadcast_state", "tenant_id", "broadcast_id", "state", "id"),
        # The recipients table pages one broadcast by id, whatever came before it in the table.
        Index("ix_broadcast_recipients_tenant_broadcast_id", "tenant_id", "broadcast_id", "id"),
        # The inbox names the broadcast a message came from.
        Index("ix_broadcast_recipients_tenant_message", "tenant_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(Integer, nullable=False)
    contact_id: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default=RecipientState.QUEUED)
    # The message this recipient became; its status carries delivered / read. No foreign key: history
    # retention may delete the message, and the recipient row keeps its outcome.
    message_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
