"""Drip sequences: ordered steps sent to enrolled contacts over time, each step to each enrolment at most once."""
from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    column,
)
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps, utcnow
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class EnrolmentState(StrEnum):
    """An enrolment waits for its next step (active) until every step went out or it was stopped."""

    ACTIVE = "active"
    COMPLETED = "completed"
    STOPPED = "stopped"


class DelayUnit(StrEnum):
    """Minutes and hours are exact durations; days keep the wall-clock time in the workspace's zone."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


class DelayFrom(StrEnum):
    """What a step's delay counts from."""

    PREVIOUS = "previous"    # the previous step (or enrolment, for the first one)
    ENROLMENT = "enrolment"


_ACTIVE = column("state") == "active"


class DripSequence(TenantScoped, Timestamps, db.Model):
    """A sequence's settings: automatic enrolment by tag, re-enrolment, exit rules and the send window."""

    __tablename__ = "drip_sequences"

    NAME_MAX = 120

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    # Tags by id without a foreign key: deleting a tag leaves the sequence, which then simply never matches.
    auto_enrol: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    auto_enrol_tag_id: Mapped[int | None] = mapped_column(Integer)
    allow_reenrol: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    exit_on_reply: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    exit_tag_id: Mapped[int | None] = mapped_column(Integer)
    # Send window in the workspace's zone: weekdays as "0,1,2,3,4" (Monday is 0); no window when empty.
    window_days: Mapped[str | None] = mapped_column(String(20))
    window_start: Mapped[time | None] = mapped_column(Time)
    window_end: Mapped[time | None] = mapped_column(Time)
    created_by_id: Mapped[int | None] = mapped_column(Integer)

    @property
    def window_weekdays(self) -> set[int]:
        return {int(d) for d in (self.window_days or "").split(",") if d.strip().isdigit()}

    @property
    def has_window(self) -> bool:
        return bool(self.window_weekdays) and self.window_start is not None and self.window_end is not None


class DripStep(TenantScoped, Timestamps, db.Model):
    """One step: a delay and what is sent. Removed steps are kept (hidden) so their figures and sends remain."""

    __tablename__ = "drip_steps"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "sequence_id"], ["drip_sequences.tenant_id", "drip_sequences.id"],
                             ondelete="CASCADE"),
        Index("ix_drip_steps_tenant_sequence_position", "tenant_id", "sequence_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(Integer, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    delay_value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    delay_unit: Mapped[str] = mapped_column(String(10), nullable=False, default=DelayUnit.DAYS)
    delay_from: Mapped[str] = mapped_column(String(10), nullable=False, default=DelayFrom.PREVIOUS)
    # Text with {{name}}, {{first_name}}, {{custom.<key>}} placeholders, or a template by name and language
    # with one {"source": ..., "value": ...} per variable (as broadcasts store them).
    body: Mapped[str | None] = mapped_column(Text)
    template_name: Mapped[str | None] = mapped_column(String(512))
    template_language: Mapped[str | None] = mapped_column(String(20))
    template_variables: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_template(self) -> bool:
        return bool(self.template_name)


class DripEnrolment(TenantScoped, Timestamps, db.Model):
    """One contact going through one sequence; `next_step_at` is set only while active (the sweep's index)."""

    __tablename__ = "drip_enrolments"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "sequence_id"], ["drip_sequences.tenant_id", "drip_sequences.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"], ondelete="CASCADE"),
        # A contact is in a sequence at most once at a time: the database refuses a second active row.
        Index("uq_drip_enrolments_one_active", "tenant_id", "sequence_id", "contact_id", unique=True,
              postgresql_where=_ACTIVE, sqlite_where=_ACTIVE),
        # The due sweep: which tenants have anything due, then each tenant's due rows in order.
        Index("ix_drip_enrolments_next_step_at", "next_step_at"),
        Index("ix_drip_enrolments_tenant_next_step_at", "tenant_id", "next_step_at"),
        Index("ix_drip_enrolments_tenant_sequence_state", "tenant_id", "sequence_id", "state"),
        Index("ix_drip_enrolments_tenant_contact", "tenant_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(Integer, nullable=False)
    contact_id: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default=EnrolmentState.ACTIVE)
    # Why it stopped ("replied", "opted out", ...) or why its last step was not sent.
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="manual")
    # The step planned for next_step_at; the sweep checks it is still the next one (the sequence may be edited).
    current_step_id: Mapped[int | None] = mapped_column(Integer)
    next_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # What "after the previous step" counts from: enrolment, the last step's send, or a restart.
    anchor_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DripStepSend(TenantScoped, db.Model):
    """A step handed to the outbox for an enrolment (or refused, with the reason): never twice."""

    __tablename__ = "drip_step_sends"
    __tenant_table_args__ = (
        UniqueConstraint("enrolment_id", "step_id"),
        ForeignKeyConstraint(["tenant_id", "enrolment_id"], ["drip_enrolments.tenant_id", "drip_enrolments.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "step_id"], ["drip_steps.tenant_id", "drip_steps.id"], ondelete="CASCADE"),
        Index("ix_drip_step_sends_tenant_step", "tenant_id", "step_id"),
        Index("ix_drip_step_sends_tenant_message", "tenant_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(Integer, nullable=False)
    step_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # The outbox message; no foreign key, history retention may delete it. NULL when not sent (see reason).
    message_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
