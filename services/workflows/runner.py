"""Starting runs (idempotent per event) with loop prevention, and advancing them action by action.

A run is durable: its next action and resume time live on the row, each action commits with the run's
progress (a worker killed mid-action rolls both back), and a wait only sets `resume_at`. The RQ job
queued for that moment is a nudge; the cron sweep resumes whatever is due if Redis lost it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from extensions import db
from models import Contact, Workflow, WorkflowRun
from models.base import utcnow
from models.tenancy import current_tenant_id
from models.workflow import OPEN_STATES, RunState
from services import events
from services.queueing import DEFAULT_QUEUE, enqueue_after_commit
from services.upsert import insert_ignoring_conflicts
from services.workflows.actions import wait_delta
from services.workflows.steps import ACTIONS, CONDITIONS, Context
from services.workflows.trigger_kinds import TRIGGERS
from services.workspace import workspace_zone

ADVANCE_JOB = "jobs.workflows.advance_run"
MAX_DEPTH = 5                      # workflows setting off workflows: at most this many in one chain
RATE_CAP = 20                      # runs per contact (all workflows) within RATE_WINDOW
RATE_WINDOW = timedelta(minutes=10)
# The sweep takes a due run only this long after its time: until then its own job (queued at the start or for
# the end of a wait) is expected to take it, and the sweep would only compete with it.
SWEEP_GRACE = timedelta(minutes=2)
LOOP = "loop"  # logged as "stopped: loop: <why>"


def entry(step: str, ok: bool, text: str, now: datetime | None = None) -> dict[str, Any]:
    """One log line of a run."""
    return {"at": (now or utcnow()).isoformat(timespec="seconds"), "step": step, "ok": ok, "text": text}


def _recent_runs(contact_id: int, now: datetime) -> int:
    return db.session.scalar(select(func.count(WorkflowRun.id)).where(
        WorkflowRun.contact_id == contact_id, WorkflowRun.created_at > now - RATE_WINDOW)) or 0


def loop_reason(workflow_id: int, origin: dict, contact_id: int, recent: int) -> str | None:
    """Why starting this workflow now would be a loop, or None."""
    if workflow_id in (origin.get("chain") or []) and origin.get("contact_id") in (None, contact_id):
        return f"{LOOP}: this workflow's own action set it off again for the same contact"
    if int(origin.get("depth") or 0) >= MAX_DEPTH:
        return f"{LOOP}: {MAX_DEPTH} workflows in a row set each other off"
    if recent >= RATE_CAP:
        minutes = int(RATE_WINDOW.total_seconds() // 60)
        return f"{LOOP}: more than {RATE_CAP} runs for this contact within {minutes} minutes"
    return None


def _insert(row: dict[str, Any]) -> WorkflowRun | None:
    """Add the run unless this workflow has one for the same trigger already (at-least-once delivery).

    ON CONFLICT DO NOTHING rather than a savepoint that fails: a savepoint rolled back would also drop the
    jobs other runs of the same transaction asked for.
    """
    inserted = insert_ignoring_conflicts(WorkflowRun, [row], conflict_columns=["tenant_id", "workflow_id",
                                                                              "trigger_key"],
                                         returning=WorkflowRun.id)
    if not inserted:
        return None
    return db.session.scalar(select(WorkflowRun).where(WorkflowRun.id == inserted[0]))


def start_run(workflow: Workflow, contact_id: int, trigger_key: str, trigger_text: str, *, event_id: int | None = None,
              origin: dict | None = None, now: datetime | None = None, recent: int | None = None
              ) -> WorkflowRun | None:
    """Create the run (flushes) and queue its job after commit; None when it exists already."""
    now, origin = now or utcnow(), origin or {}
    recent = _recent_runs(contact_id, now) if recent is None else recent
    stopped = loop_reason(workflow.id, origin, contact_id, recent)
    log = [entry("trigger", True, trigger_text, now)]
    row = {"workflow_id": workflow.id, "trigger_key": trigger_key, "event_id": event_id, "contact_id": contact_id,
           "chain": [*(origin.get("chain") or []), workflow.id], "depth": int(origin.get("depth") or 0) + 1,
           "next_action": 0, "created_at": now, "updated_at": now}
    if stopped:
        row.update(state=RunState.STOPPED.value, finished_at=now, resume_at=None,
                   log=[*log, entry("stopped", False, stopped, now)])
    else:
        row.update(state=RunState.RUNNING.value, resume_at=now, log=log)
    run = _insert(row)
    if run is None:
        return None
    if not stopped:
        enqueue_after_commit(ADVANCE_JOB, current_tenant_id(), run.id, queue_name=DEFAULT_QUEUE)
    return run


def start_for_event(event, now: datetime | None = None) -> list[WorkflowRun]:
    """Start a run of every enabled workflow whose trigger matches the domain event (the consumer)."""
    kind = event.kind
    if event.contact_id is None or kind not in TRIGGERS:
        return []
    now = now or utcnow()
    workflows = db.session.scalars(select(Workflow).where(Workflow.enabled.is_(True),
                                                          Workflow.trigger_kind == kind)
                                   .order_by(Workflow.id)).all()
    started, recent = [], None
    for workflow in workflows:
        matched, text = TRIGGERS[kind].match(event, workflow.trigger_config or {})
        if not matched:
            continue
        recent = _recent_runs(event.contact_id, now) if recent is None else recent
        run = start_run(workflow, event.contact_id, f"event:{event.id}", text, event_id=event.id,
                        origin=event.origin or {}, now=now, recent=recent)
        if run is not None:
            recent += 1
            started.append(run)
    return started


def _claim(run_id: int, now: datetime) -> WorkflowRun | None:
    """Lock the run while it is due (a second worker waits, then sees the progress), and read it fresh."""
    won = db.session.execute(update(WorkflowRun).where(WorkflowRun.id == run_id, WorkflowRun.state.in_(OPEN_STATES),
                                                       WorkflowRun.resume_at <= now)
                             .values(updated_at=now).execution_options(synchronize_session=False)).rowcount
    if not won:
        db.session.rollback()
        return None
    return db.session.scalar(select(WorkflowRun).where(WorkflowRun.id == run_id)
                             .execution_options(populate_existing=True))


def _finish(run: WorkflowRun, state: RunState, now: datetime, line: dict | None = None) -> None:
    if line:
        run.log = [*run.log, line]
    run.state, run.finished_at, run.resume_at = state, now, None


def _check_conditions(run: WorkflowRun, workflow: Workflow, ctx: Context, now: datetime) -> bool:
    lines, passed = [], True
    for condition in workflow.conditions or []:
        ok, text = CONDITIONS[condition["kind"]].run(ctx, condition)
        lines.append(entry("condition", ok, text, now))
        if not ok:
            passed = False
            break
    run.log = [*run.log, *lines]
    if not passed:
        _finish(run, RunState.DONE, now, entry("done", True, "conditions not met: no action taken", now))
    return passed


def _act(run: WorkflowRun, workflow: Workflow, ctx: Context, now: datetime) -> None:
    """Do the run's next action (or finish it), recording the outcome; the caller commits."""
    actions = workflow.actions or []
    if run.next_action >= len(actions):
        _finish(run, RunState.DONE, now, entry("done", True, "all actions done", now))
        return
    action = actions[run.next_action]
    label = f"{run.next_action + 1}. {ACTIONS[action['kind']].label}" if action["kind"] in ACTIONS else action["kind"]
    try:
        with db.session.begin_nested(), events.origin({"workflow_id": workflow.id, "run_id": run.id,
                                                       "depth": run.depth, "chain": run.chain,
                                                       "contact_id": run.contact_id}):
            outcome = ACTIONS[action["kind"]].run(ctx, action)
    except Exception as exc:  # any failure is this run's outcome: recorded on it, later runs are not affected
        _finish(run, RunState.FAILED, now, entry("action", False, f"{label}: failed: {exc}", now))
        return
    run.log = [*run.log, entry("action", True, f"{label}: {outcome}", now)]
    run.next_action += 1
    if action["kind"] == "wait":
        run.state, run.resume_at = RunState.WAITING, now + wait_delta(action)
        enqueue_after_commit(ADVANCE_JOB, current_tenant_id(), run.id, delay=(run.resume_at - now).total_seconds(),
                             queue_name=DEFAULT_QUEUE)
    else:
        run.state = RunState.RUNNING


def advance(run_id: int, now: datetime | None = None) -> str | None:
    """Take the run as far as it goes now: conditions, then actions until done, failed or a wait (commits)."""
    zone = workspace_zone()
    while True:
        moment = now or utcnow()
        run = _claim(run_id, moment)
        if run is None:
            return None
        workflow = db.session.scalar(select(Workflow).where(Workflow.id == run.workflow_id))
        contact = db.session.scalar(select(Contact).where(Contact.id == run.contact_id))
        if not workflow.enabled:
            _finish(run, RunState.STOPPED, moment,
                    entry("stopped", False, "the workflow was disabled", moment))
        else:
            ctx = Context(contact=contact, now=moment, zone=zone, run_id=run.id, workflow_id=workflow.id,
                          user_id=workflow.created_by_id)
            fresh = run.state == RunState.RUNNING and run.next_action == 0 and not any(
                line["step"] == "condition" for line in run.log)
            if not fresh or _check_conditions(run, workflow, ctx, moment):
                _act(run, workflow, ctx, moment)
        db.session.commit()
        if run.state != RunState.RUNNING:
            return run.state


def due_criteria(now: datetime) -> tuple:
    """Runs the sweep resumes: open and overdue by SWEEP_GRACE, i.e. their job was lost (a running run's
    resume_at is its start, a waiting run's the end of its wait)."""
    return WorkflowRun.resume_at <= now - SWEEP_GRACE, WorkflowRun.state.in_(OPEN_STATES)


def due_run_ids(now: datetime, limit: int) -> list[int]:
    """The current workspace's due runs, oldest first."""
    return list(db.session.scalars(select(WorkflowRun.id).where(*due_criteria(now))
                                   .order_by(WorkflowRun.resume_at, WorkflowRun.id).limit(limit)))
