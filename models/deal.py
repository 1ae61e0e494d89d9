"""Deals: pipelines of ordered stages, the deals that move through them, and each deal's stage history."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Date, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps, utcnow
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class StageOutcome(StrEnum):
    """A deal in an open stage is still being worked; won and lost stages close it."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Pipeline(TenantScoped, Timestamps, db.Model):
    """A named sequence of stages; every workspace has at least one (the default, created with it)."""

    __tablename__ = "pipelines"

    NAME_MAX = 80

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Stage(TenantScoped, db.Model):
    """One column of a pipeline's board, ordered by `position`."""

    __tablename__ = "pipeline_stages"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "pipeline_id"], ["pipelines.tenant_id", "pipelines.id"],
                             ondelete="CASCADE"),
        Index("ix_pipeline_stages_tenant_pipeline_position", "tenant_id", "pipeline_id", "position"),
    )

    NAME_MAX = 60

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    outcome: Mapped[str] = mapped_column(String(10), nullable=False, default=StageOutcome.OPEN)

    @property
    def is_open(self) -> bool:
        return self.outcome == StageOutcome.OPEN


class Deal(TenantScoped, Timestamps, db.Model):
    """A possible sale to a contact: its value in minor units of `currency`, its stage and its place in the column."""

    __tablename__ = "deals"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "pipeline_id"], ["pipelines.tenant_id", "pipelines.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "stage_id"], ["pipeline_stages.tenant_id", "pipeline_stages.id"]),
        # The board reads a stage's column in order; the contact page and the segment operator read by contact.
        Index("ix_deals_tenant_stage_position", "tenant_id", "stage_id", "position"),
        Index("ix_deals_tenant_contact", "tenant_id", "contact_id"),
    )

    TITLE_MAX = 200

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX), nullable=False)
    contact_id: Mapped[int] = mapped_column(Integer, nullable=False)
    pipeline_id: Mapped[int] = mapped_column(Integer, nullable=False)
    stage_id: Mapped[int] = mapped_column(Integer, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Whole minor units (cents): sums are exact and every database adds integers the same way.
    value_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    expected_close_on: Mapped[date | None] = mapped_column(Date)
    # Set when the deal enters a won or lost stage, cleared when it goes back to an open one.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(Integer)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class DealHistory(TenantScoped, db.Model):
    """One stage change of a deal; stage names are copied so the history reads the same after a rename."""

    __tablename__ = "deal_history"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "deal_id"], ["deals.tenant_id", "deals.id"], ondelete="CASCADE"),
        Index("ix_deal_history_tenant_deal", "tenant_id", "deal_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(Integer, nullable=False)
    from_stage_id: Mapped[int | None] = mapped_column(Integer)
    to_stage_id: Mapped[int] = mapped_column(Integer, nullable=False)
    from_stage_name: Mapped[str | None] = mapped_column(String(Stage.NAME_MAX))
    to_stage_name: Mapped[str] = mapped_column(String(Stage.NAME_MAX), nullable=False)
    user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
