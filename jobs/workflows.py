"""Workflow jobs: advancing one run, the minute sweep that resumes due runs, and the daily trigger."""
from __future__ import annotations

from datetime import datetime

from extensions import db
from jobs.context import app_job, tenant_job
from models import Workflow, WorkflowRun
from models.base import utcnow
from models.tenancy import each_tenant
from services.workflows import runner, scheduled
from services.workflows.trigger_kinds import DAILY

BATCH = 200  # runs per workspace per sweep: what keeps the sweep fair between workspaces


@tenant_job
def advance_run(tenant_id: int, run_id: int) -> str | None:
    """Take one run as far as it goes now (queued when it starts and for the end of each wait)."""
    return runner.advance(run_id)


@app_job
def resume_due_runs(now: datetime | None = None) -> int:
    """Every minute: advance every workspace's overdue runs (their job was lost with Redis or a worker)."""
    now, done = now or utcnow(), 0
    for _tenant_id in each_tenant(WorkflowRun, *runner.due_criteria(now)):
        for run_id in runner.due_run_ids(now, BATCH):
            runner.advance(run_id, now)
            done += 1
        db.session.commit()
    return done


@app_job
def fire_daily_workflows(now: datetime | None = None) -> int:
    """Every minute: start the runs of daily workflows whose time has come in their workspace's zone."""
    now, started = now or utcnow(), 0
    for _tenant_id in each_tenant(Workflow, Workflow.enabled.is_(True), Workflow.trigger_kind == DAILY):
        started += scheduled.fire_daily(now)
        db.session.commit()
    return started

