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
    # Outbound messages by their status at the last rollup (sent counts them all): the platform's chart.
    queued: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    delivered: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    read: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # Customer turns begun this day (an inbound message after our last word) and how many a person answered;
    # wait_0..wait_N count those answers by how long they took (WAIT_EDGES), so a median over any range of
    # days and workspaces is a sum of columns, not a pass over the messages.
    turns: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    answered: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class PlatformDay(db.Model):
    """Every workspace's usage_days summed for one day (no workspace's own: platform admins read it), rewritten
    by the rollup with them, so the platform's analytics read a row per day, not one per workspace and day."""

    __tablename__ = "platform_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, nullable=False, unique=True)


PLATFORM_COUNTS = ("sent", "received", "failed", "queued", "delivered", "read", "turns", "answered")

# Upper bounds (seconds, exclusive) of the first-response buckets; the last bucket is open-ended. Neighbours
# differ by at most 2x (1.5x from 3 minutes to a day), which bounds how far a median read from them can be off.
WAIT_EDGES = (30, 60, 120, 180, 300, 420, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800, 14400, 21600,
              28800, 43200, 86400, 172800, 259200, 604800)
WAIT_COLUMNS = tuple(f"wait_{n}" for n in range(len(WAIT_EDGES) + 1))
for _name in WAIT_COLUMNS:
    # Declarative mapping takes columns added after the class body: one per bucket, all alike.
    setattr(UsageDay, _name, mapped_column(_name, Integer, nullable=False, default=0, server_default="0"))
for _name in (*PLATFORM_COUNTS, *WAIT_COLUMNS):
    setattr(PlatformDay, _name, mapped_column(_name, BigInteger, nullable=False, default=0, server_default="0"))


# The rollup reads the last two days of every workspace and the overview the last day: by time, not by tenant.
Index("ix_messages_created_at", Message.created_at)
# Analytics read one workspace's messages over a range of days.
Index("ix_messages_tenant_created", Message.tenant_id, Message.created_at)
