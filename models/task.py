"""Tasks (things to do for a contact or a deal) and notes (the timeline of entries on a contact and its deals)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps, utcnow
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class Task(TenantScoped, Timestamps, db.Model):
    """Something someone has to do, due at a time, on a contact and/or a deal; done when `done_at` is set."""

    __tablename__ = "tasks"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "deal_id"], ["deals.tenant_id", "deals.id"], ondelete="CASCADE"),
        # "My tasks" and the navigation's overdue count read one assignee's open tasks by due time.
        Index("ix_tasks_tenant_assignee_done_due", "tenant_id", "assignee_id", "done_at", "due_at"),
        Index("ix_tasks_tenant_contact", "tenant_id", "contact_id"),
        Index("ix_tasks_tenant_deal", "tenant_id", "deal_id"),
    )

    TITLE_MAX = 200

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX), nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact_id: Mapped[int | None] = mapped_column(Integer)
    deal_id: Mapped[int | None] = mapped_column(Integer)
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(Integer)

    @property
    def done(self) -> bool:
        return self.done_at is not None


class Note(TenantScoped, db.Model):
    """One entry of a contact's timeline, optionally about one of its deals."""

    __tablename__ = "notes"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"], ondelete="CASCADE"),
        # No cascade from the deal: deleting a deal keeps the contact's notes (services.deals detaches them).
        ForeignKeyConstraint(["tenant_id", "deal_id"], ["deals.tenant_id", "deals.id"]),
        Index("ix_notes_tenant_contact_created", "tenant_id", "contact_id", "created_at"),
        Index("ix_notes_tenant_deal", "tenant_id", "deal_id"),
    )

    BODY_MAX = 5000

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(Integer, nullable=False)
    deal_id: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    author_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
