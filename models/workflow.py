"""Workflows: one trigger, optional conditions and ordered actions; each firing is a durable run with its log."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKeyConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class RunState(StrEnum):
    """A run goes through its actions (running), may pause on a wait (waiting), and ends done, failed or stopped."""

    RUNNING = "running"
    WAITING = "waiting"
    DONE = "done"
    FAILED = "failed"
    STOPPED = "stopped"


OPEN_STATES = (RunState.RUNNING.value, RunState.WAITING.value)


class Workflow(TenantScoped, Timestamps, db.Model):
    """A workflow's definition; the steps are JSON lists of {"kind": ..., <that kind's settings>}."""

    __tablename__ = "workflows"
    __tenant_table_args__ = (
        # The consumer looks up the enabled workflows of a trigger kind for every event.
        Index("ix_workflows_tenant_trigger", "tenant_id", "trigger_kind", "enabled"),
    )

    NAME_MAX = 120

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    trigger_kind: Mapped[str] = mapped_column(String(40), nullable=False)
    trigger_config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    # A daily trigger's last firing, as the workspace's local date: the minute sweep fires each day once.
    daily_done_on: Mapped[date | None] = mapped_column(Date)


class WorkflowRun(TenantScoped, Timestamps, db.Model):
    """One firing of a workflow for a contact: its log, and where it continues after a wait (`resume_at`).

    `trigger_key` names what fired it ("event:<id>", "daily:<date>:<contact>"): UNIQUE per workflow, so an
    event delivered twice starts one run. The sweep's index is `resume_at`, set only while the run is open.
    """

    __tablename__ = "workflow_runs"
    __tenant_table_args__ = (
        UniqueConstraint("tenant_id", "workflow_id", "trigger_key"),
        ForeignKeyConstraint(["tenant_id", "workflow_id"], ["workflows.tenant_id", "workflows.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"], ondelete="CASCADE"),
        Index("ix_workflow_runs_resume_at", "resume_at"),
        Index("ix_workflow_runs_tenant_resume_at", "tenant_id", "resume_at"),
        Index("ix_workflow_runs_tenant_workflow", "tenant_id", "workflow_id", "id"),
        Index("ix_workflow_runs_tenant_contact_created", "tenant_id", "contact_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(Integer, nullable=False)
    trigger_key: Mapped[str] = mapped_column(String(80), nullable=False)
    # The domain event that fired it (no foreign key: events are pruned), None for scheduled runs.
    event_id: Mapped[int | None] = mapped_column(Integer)
    contact_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default=RunState.RUNNING)
    # [{"at": iso, "step": "trigger"|"condition"|"action"|"stopped", "ok": bool, "text": ...}, ...]
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    next_action: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    resume_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Loop prevention: the workflows whose actions led here (this one last) and how deep the chain is.
    chain: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    depth: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
