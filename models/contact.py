"""Contacts and their tags."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKeyConstraint, Index, String, Text, UniqueConstraint, and_, column
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.enums import ConversationStatus
from extensions import db
from models.base import Timestamps
from models.tag import Tag
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class ContactTag(TenantScoped, db.Model):
    """Association row; composite keys make a cross-tenant link impossible in the database."""

    __tablename__ = "contact_tags"
    __tenant_table_args__ = (
        UniqueConstraint("tenant_id", "contact_id", "tag_id"),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "tag_id"], ["tags.tenant_id", "tags.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(nullable=False, index=True)
    tag_id: Mapped[int] = mapped_column(nullable=False, index=True)


class Contact(TenantScoped, Timestamps, db.Model):
    """A customer reachable on WhatsApp; `phone` is E.164 and unique per tenant."""

    __tablename__ = "contacts"
    __tenant_table_args__ = (
        UniqueConstraint("tenant_id", "phone"),
        Index("ix_contacts_tenant_last_message", "tenant_id", "last_message_at"),
        Index("ix_contacts_tenant_status_last_message", "tenant_id", "conversation_status", "last_message_at"),
    )

    NAME_MAX = 120
    EMAIL_MAX = 254
    NOTES_MAX = 5000

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    notes: Mapped[str | None] = mapped_column(Text)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    opted_out: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # WhatsApp profile name as the customer set it, and when they last wrote (opens the 24 h window).
    profile_name: Mapped[str | None] = mapped_column(String(200))
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Inbox: conversations sort by the last message; unread = inbound messages after last_read_at.
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A conversation is open until someone resolves it; a new inbound message opens it again.
    conversation_status: Mapped[str] = mapped_column(String(10), nullable=False, default=ConversationStatus.OPEN,
                                                     server_default="open")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tags: Mapped[list[Tag]] = relationship(
        Tag,
        secondary="contact_tags",
        primaryjoin=lambda: and_(Contact.id == ContactTag.contact_id, Contact.tenant_id == ContactTag.tenant_id),
        secondaryjoin=lambda: and_(Tag.id == ContactTag.tag_id, Tag.tenant_id == ContactTag.tenant_id),
        order_by=lambda: Tag.name,
        viewonly=True,
        lazy="selectin",
    )


# PostgreSQL only (migration 0024): custom_fields as jsonb, a stored generated column the database fills on every
# write; NULL when jsonb cannot hold the text. Not mapped (SQLite has no such column), so no ORM load or write
# names it; filters that compare field values read it (services.segments.filters).
CUSTOM_FIELDS_JSONB = column("custom_fields_jsonb", JSONB, _selectable=Contact.__table__)
