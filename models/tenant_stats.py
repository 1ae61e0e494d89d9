"""Per-workspace usage figures, rolled up by a job so the admin list never counts messages per page view."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.message import Message
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class TenantStats(TenantScoped, db.Model):
    """One row per workspace, rewritten by services.admin.rollup; read by platform admins."""

    __tablename__ = "tenant_stats"
    __tenant_table_args__ = (UniqueConstraint("tenant_id", name="uq_tenant_stats_tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sent_24h: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    received_24h: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed_24h: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sent_30d: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    received_30d: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    contacts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    media_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsageDay(TenantScoped, db.Model):
    """A workspace's messages on one UTC day by direction and outcome: what the 30-day figures and charts sum."""

    __tablename__ = "usage_days"
    __tenant_table_args__ = (UniqueConstraint("tenant_id", "day", name="uq_usage_days_tenant_id_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    sent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    received: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


# The rollup reads the last two days of every workspace and the overview the last day: by time, not by tenant.
Index("ix_messages_created_at", Message.created_at)
# Analytics read one workspace's messages over a range of days.
Index("ix_messages_tenant_created", Message.tenant_id, Message.created_at)
