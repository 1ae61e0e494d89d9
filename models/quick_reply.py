"""Saved answers a tenant inserts into the reply box."""
from __future__ import annotations

from sqlalchemy import Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps
from models.tenancy import TenantScoped


class QuickReply(TenantScoped, Timestamps, db.Model):
    """A reusable text, inserted with a picker or by typing `/shortcut`."""

    __tablename__ = "quick_replies"
    __tenant_table_args__ = (UniqueConstraint("tenant_id", "shortcut"),)

    SHORTCUT_MAX = 30
    BODY_MAX = 4096

    id: Mapped[int] = mapped_column(primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(SHORTCUT_MAX), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)


# /Thanks and /thanks would be ambiguous to type, so shortcuts are unique regardless of case.
Index("uq_quick_replies_tenant_lower_shortcut", QuickReply.tenant_id, func.lower(QuickReply.shortcut), unique=True)
