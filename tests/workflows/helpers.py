"""Builders for workflow tests: workflows, domain events as the consumer receives them, runs and their logs."""
from __future__ import annotations

import itertools
from types import SimpleNamespace

from sqlalchemy import select

from extensions import db
from models import Workflow, WorkflowRun
from services.workflows import runner
from services.workflows.definitions import WorkflowInput, save_workflow, set_enabled

_ids = itertools.count(1_000_000)


def make_workflow(in_tenant, tenant_id: int, actions: list[dict], *, trigger_kind: str = "message.received",
                  trigger: dict | None = None, conditions: list[dict] | None = None, enabled: bool = True,
                  name: str = "Flow") -> int:
    """A saved workflow (through the same validation the editor uses)."""
    with in_tenant(tenant_id):
        workflow = save_workflow(WorkflowInput(name=name, trigger_kind=trigger_kind,
                                               trigger=trigger if trigger is not None else {"match": "any"},
                                               conditions=conditions or [], actions=actions))
        set_enabled(workflow, enabled)
        return workflow.id


def event(kind: str, contact_id: int | None, *, subject_id: int | None = None, data: dict | None = None,
          origin: dict | None = None, event_id: int | None = None) -> SimpleNamespace:
    """A domain event as consumers receive it."""
    return SimpleNamespace(id=event_id or next(_ids), kind=kind, contact_id=contact_id, subject_id=subject_id,
                           data=data or {}, origin=origin)


def deliver(in_tenant, tenant_id: int, evt) -> list[int]:
    """Hand the event to the workflow consumer (as the dispatcher does) and commit; returns the new run ids."""
    with in_tenant(tenant_id):
        return [run.id for run in runner.start_for_event(evt)]


def advance(in_tenant, tenant_id: int, run_id: int, now=None) -> str | None:
    with in_tenant(tenant_id):
        return runner.advance(run_id, now)


def runs(in_tenant, tenant_id: int, workflow_id: int | None = None) -> list[WorkflowRun]:
    with in_tenant(tenant_id):
        stmt = select(WorkflowRun).order_by(WorkflowRun.id)
        if workflow_id is not None:
            stmt = stmt.where(WorkflowRun.workflow_id == workflow_id)
        rows = list(db.session.scalars(stmt))
        for row in rows:
            db.session.expunge(row)
        return rows


def texts(run: WorkflowRun) -> list[str]:
    """The run's log as "step: text" lines."""
    return [f"{line['step']}: {line['text']}" for line in run.log]


def workflow_row(in_tenant, tenant_id: int, workflow_id: int) -> Workflow:
    with in_tenant(tenant_id):
        row = db.session.scalar(select(Workflow).where(Workflow.id == workflow_id))
        db.session.expunge(row)
        return row
