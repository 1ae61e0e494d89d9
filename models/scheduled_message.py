"""Scheduled messages: one text or template for one contact, queued through the outbox at its due time."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class ScheduledStatus(StrEnum):
    """scheduled -> queued (handed to the outbox) or not_sent (refused at the due time, with the reason);
    cancelled by a person while still scheduled."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    NOT_SENT = "not_sent"
    CANCELLED = "cancelled"


class ScheduledMessage(TenantScoped, Timestamps, db.Model):
    """What to send (a text, or an approved template by name and language with its variables) and when.

    The row is the truth: a timed job and a cron sweep both try to queue it, and a guarded update on
    `status` lets only one of them win.
    """

    __tablename__ = "scheduled_messages"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"], ondelete="CASCADE"),
        # The sweep and the workspace list read scheduled rows by due time.
        Index("ix_scheduled_messages_tenant_status_due", "tenant_id", "status", "due_at"),
        Index("ix_scheduled_messages_tenant_contact", "tenant_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[str | None] = mapped_column(Text)
    # A template by name and language, not by row: a template sync may replace the row.
    template_name: Mapped[str | None] = mapped_column(String(512))
    template_language: Mapped[str | None] = mapped_column(String(20))
    template_variables: Mapped[list[str] | None] = mapped_column(JSON)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=ScheduledStatus.SCHEDULED)
    # Why it was not sent, in words the tenant understands.
    reason: Mapped[str | None] = mapped_column(Text)
    # The outbox message it became. No foreign key: history retention may delete the message.
    message_id: Mapped[int | None] = mapped_column(Integer)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(Integer)

    @property
    def is_template(self) -> bool:
        return bool(self.template_name)

    @property
    def is_editable(self) -> bool:
        return self.status == ScheduledStatus.SCHEDULED
