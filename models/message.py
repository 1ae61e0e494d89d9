"""Messages in and out, with delivery state."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import Timestamps, utcnow
from models.contact import Contact
from models.tenancy import TenantScoped
from models.types import UTCDateTime

# Delivery states only move forward: a late "delivered" never undoes "read".
STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}


class Message(TenantScoped, Timestamps, db.Model):
    """A WhatsApp message between the tenant and a contact."""

    __tablename__ = "messages"
    __tenant_table_args__ = (
        UniqueConstraint("tenant_id", "provider_message_id"),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"], ondelete="CASCADE"),
        Index("ix_messages_tenant_contact_created", "tenant_id", "contact_id", "created_at"),
        Index("ix_messages_tenant_status", "tenant_id", "status"),
    )

    INBOUND = "in"
    OUTBOUND = "out"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(nullable=False)
    direction: Mapped[str] = mapped_column(String(3), nullable=False)
    type: Mapped[str] = mapped_column(String(20), nullable=False, default="text")
    body: Mapped[str | None] = mapped_column(Text)
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    context_message_id: Mapped[str | None] = mapped_column(String(128))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_title: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Outbox bookkeeping: who asked for the send, how often it was tried, when to try again.
    origin: Mapped[str] = mapped_column(String(20), nullable=False, default="inbox")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sending_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The kind of channel an outbound message was queued on (the sandbox phone shows only its own).
    channel_kind: Mapped[str | None] = mapped_column(String(20))

    contact: Mapped[Contact] = relationship(
        Contact,
        primaryjoin="and_(Message.contact_id == Contact.id, Message.tenant_id == Contact.tenant_id)",
        foreign_keys="[Message.contact_id, Message.tenant_id]",
        viewonly=True,
    )

    def apply_status(self, status: str, at: datetime | None = None, *, error_code=None, error_title=None) -> bool:
        """Move to `status` if that is forward; returns whether anything changed."""
        at = at or utcnow()
        if status == "failed":
            if self.status in ("delivered", "read", "failed"):
                return False
            self.status, self.error_code, self.error_title = "failed", _str(error_code), error_title
            return True
        if status not in STATUS_RANK or self.status == "failed":
            return False
        if STATUS_RANK[status] <= STATUS_RANK.get(self.status, -1):
            return False
        self.status = status
        # Receipts may skip steps (read without delivered): fill the earlier stamps too.
        if STATUS_RANK[status] >= STATUS_RANK["sent"] and self.sent_at is None:
            self.sent_at = at
        if STATUS_RANK[status] >= STATUS_RANK["delivered"] and self.delivered_at is None:
            self.delivered_at = at
        if status == "read":
            self.read_at = at
        return True


def _str(value) -> str | None:
    return None if value is None else str(value)
