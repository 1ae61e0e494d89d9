"""Runs: conditions logged, waits that survive a killed worker and a Redis flush, loop prevention, isolation."""
from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from extensions import db, get_redis
from jobs.workflows import resume_due_runs
from models import Contact, WorkflowRun
from models.base import utcnow
from services.deals import DealInput, all_pipelines, create_deal, stages_of
from services.workflows import runner
from tests.factories import link, make_contact, make_tag
from tests.workers import start_worker, stop_worker, wait_for_workers, wait_until
from tests.workflows.helpers import advance, deliver, event, make_workflow, runs, texts

FIELD = {"kind": "set_field", "field": "done", "value": "yes"}


def _contact(in_tenant, tenant_id: int, **fields) -> int:
    with in_tenant(tenant_id):
        return make_contact(**fields).id


def _done_field(in_tenant, tenant_id: int, contact_id: int):
    with in_tenant(tenant_id):
        return db.session.scalar(select(Contact.custom_fields).where(Contact.id == contact_id)).get("done")


def test_conditions_are_logged_and_a_failed_one_stops_the_run_before_any_action(owner, in_tenant):
    tenant = owner.tenant_id
    with in_tenant(tenant):
        vip = make_tag("vip")
        contact = make_contact(name="Ana", email="ana@example.com", custom_fields={"plan": "Gold plus"})
        link(contact, vip)
        contact_id, vip_id = contact.id, vip.id
    conditions = [{"kind": "has_tag", "tag_id": vip_id}, {"kind": "field_equals", "field": "email",
                                                           "value": "ANA@example.com"},
                  {"kind": "field_contains", "field": "plan", "value": "gold"},
                  {"kind": "lacks_tag", "tag_id": vip_id}]
    make_workflow(in_tenant, tenant, [FIELD], conditions=conditions)
    [run_id] = deliver(in_tenant, tenant, event("message.received", contact_id, data={"text": "x"}))
    assert advance(in_tenant, tenant, run_id) == "done"
    [run] = runs(in_tenant, tenant)
    assert [line["ok"] for line in run.log if line["step"] == "condition"] == [True, True, True, False]
    assert texts(run)[-1] == "done: conditions not met: no action taken"
    assert _done_field(in_tenant, tenant, contact_id) is None


def test_window_deal_stage_and_time_of_day_conditions(connected_cloud, in_tenant):
    from zoneinfo import ZoneInfo

    from services.workflows.conditions import deal_in_stage, time_between, window_is
    from services.workflows.steps import Context

    tenant = connected_cloud.tenant_id
    with in_tenant(tenant):
        fresh = make_contact(last_inbound_at=utcnow() - timedelta(hours=2))
        stale = make_contact(last_inbound_at=utcnow() - timedelta(hours=30))
        new, won = [s.id for s in stages_of(all_pipelines()[0])][:2]
        create_deal(DealInput(title="T", contact_id=fresh.id, stage_id=new))
        zone, wednesday_10 = ZoneInfo("Europe/Lisbon"), datetime(2031, 3, 5, 10, 0, tzinfo=UTC)
        at = lambda contact, now=wednesday_10: Context(contact=contact, now=now, zone=zone)
        assert window_is(at(fresh), {"state": "open"})[0] and not window_is(at(stale), {"state": "open"})[0]
        assert window_is(at(stale), {"state": "closed"})[0]
        assert deal_in_stage(at(fresh), {"stage_id": new})[0] and not deal_in_stage(at(fresh), {"stage_id": won})[0]
        hours = {"start": "09:00", "end": "17:00", "days": [0, 1, 2, 3, 4]}
        assert time_between(at(fresh), hours)[0]
        assert not time_between(at(fresh, wednesday_10.replace(hour=18)), hours)[0]
        assert not time_between(at(fresh, datetime(2031, 3, 8, 10, 0, tzinfo=UTC)), hours)[0]  # a Saturday
        assert time_between(at(fresh, wednesday_10.replace(hour=23)), {"start": "22:00", "end": "06:00"})[0]


def test_a_wait_survives_a_killed_worker_and_a_redis_flush(app, owner, in_tenant):
    tenant = owner.tenant_id
    contact_id = _contact(in_tenant, tenant)
    make_workflow(in_tenant, tenant, [{"kind": "wait", "amount": 30, "unit": "minutes"}, FIELD])
    worker = start_worker(app, scheduler=False)
    try:
        wait_for_workers(app, 1)
        [run_id] = deliver(in_tenant, tenant, event("message.received", contact_id, data={"text": "x"}))
        waiting = wait_until(lambda: [r for r in runs(in_tenant, tenant) if r.state == "waiting"], 60, "run waits")
    finally:
        stop_worker(worker, signal.SIGKILL)
    resume_at = waiting[0].resume_at
    assert timedelta(minutes=29) < resume_at - utcnow() <= timedelta(minutes=30)
    with app.app_context():
        get_redis().flushdb()  # the job timed for the end of the wait is gone with the worker
    overdue = resume_at + runner.SWEEP_GRACE
    assert resume_due_runs(now=overdue - timedelta(seconds=1)) == 0   # its own job still has time to run
    assert _done_field(in_tenant, tenant, contact_id) is None
    assert resume_due_runs(now=overdue + timedelta(seconds=1)) == 1
    [run] = runs(in_tenant, tenant)
    assert (run.id, run.state, run.next_action) == (run_id, "done", 2)
    assert _done_field(in_tenant, tenant, contact_id) == "yes"


def test_a_run_whose_first_job_was_lost_is_started_by_the_sweep(app, owner, in_tenant):
    tenant = owner.tenant_id
    contact_id = _contact(in_tenant, tenant)
    make_workflow(in_tenant, tenant, [FIELD])
    deliver(in_tenant, tenant, event("message.received", contact_id, data={"text": "x"}))
    with app.app_context():
        get_redis().flushdb()
    assert resume_due_runs() == 0   # not yet overdue: its job would normally take it now
    assert resume_due_runs(now=utcnow() + runner.SWEEP_GRACE + timedelta(seconds=1)) == 1
    assert _done_field(in_tenant, tenant, contact_id) == "yes"


def test_a_workflow_never_retriggers_itself_in_its_own_chain(owner, in_tenant):
    tenant = owner.tenant_id
    contact_id = _contact(in_tenant, tenant)
    with in_tenant(tenant):
        tag_id = make_tag("ping").id
    workflow_id = make_workflow(in_tenant, tenant, [FIELD], trigger_kind="tag.added", trigger={"tag_id": tag_id})
    own = {"workflow_id": workflow_id, "run_id": 1, "depth": 1, "chain": [workflow_id], "contact_id": contact_id}
    [run_id] = deliver(in_tenant, tenant, event("tag.added", contact_id, subject_id=tag_id, origin=own))
    [run] = runs(in_tenant, tenant)
    assert run.state == "stopped" and run.resume_at is None
    assert texts(run)[-1].startswith("stopped: loop: this workflow's own action")
    assert advance(in_tenant, tenant, run_id) is None and _done_field(in_tenant, tenant, contact_id) is None
    # Another workflow's action (not in the chain) does start it.
    other = {**own, "chain": [workflow_id + 1000]}
    deliver(in_tenant, tenant, event("tag.added", contact_id, subject_id=tag_id, origin=other))
    assert runs(in_tenant, tenant)[-1].state == "running"


def test_depth_limit_and_per_contact_rate_cap_stop_with_a_loop_entry(owner, in_tenant, monkeypatch):
    tenant = owner.tenant_id
    contact_id = _contact(in_tenant, tenant)
    make_workflow(in_tenant, tenant, [FIELD])
    deep = {"chain": [901, 902, 903, 904, 905], "depth": runner.MAX_DEPTH, "contact_id": contact_id}
    deliver(in_tenant, tenant, event("message.received", contact_id, data={"text": "x"}, origin=deep))
    assert "workflows in a row" in texts(runs(in_tenant, tenant)[-1])[-1]
    monkeypatch.setattr(runner, "RATE_CAP", 3)
    for _ in range(3):
        deliver(in_tenant, tenant, event("message.received", contact_id, data={"text": "x"}))
    states = [r.state for r in runs(in_tenant, tenant)]
    assert states == ["stopped", "running", "running", "stopped"]
    assert "runs for this contact within 10 minutes" in texts(runs(in_tenant, tenant)[-1])[-1]
    # Another contact is not held back by this one's runs.
    other = _contact(in_tenant, tenant)
    deliver(in_tenant, tenant, event("message.received", other, data={"text": "x"}))
    assert runs(in_tenant, tenant)[-1].state == "running"


def test_a_disabled_workflow_stops_its_waiting_runs_when_they_resume(owner, in_tenant):
    from models import Workflow
    from services.workflows.definitions import set_enabled

    tenant = owner.tenant_id
    contact_id = _contact(in_tenant, tenant)
    workflow_id = make_workflow(in_tenant, tenant, [{"kind": "wait", "amount": 1, "unit": "hours"}, FIELD])
    [run_id] = deliver(in_tenant, tenant, event("message.received", contact_id, data={"text": "x"}))
    assert advance(in_tenant, tenant, run_id) == "waiting"
    with in_tenant(tenant):
        set_enabled(db.session.scalar(select(Workflow).where(Workflow.id == workflow_id)), False)
    assert resume_due_runs(now=utcnow() + timedelta(hours=2)) == 1
    assert runs(in_tenant, tenant)[0].state == "stopped" and _done_field(in_tenant, tenant, contact_id) is None


def test_one_workspaces_events_never_start_anothers_workflows(create_user, in_tenant, monkeypatch):
    first, second = create_user(), create_user()
    make_workflow(in_tenant, second.tenant_id, [FIELD])
    considered = []
    real = runner.start_run
    monkeypatch.setattr(runner, "start_run", lambda workflow, *a, **k: considered.append(workflow.id) or real(
        workflow, *a, **k))
    theirs = _contact(in_tenant, second.tenant_id)
    mine = _contact(in_tenant, first.tenant_id)
    assert deliver(in_tenant, first.tenant_id, event("message.received", mine, data={"text": "x"})) == []
    # Even an event naming the other workspace's contact id starts nothing there.
    assert deliver(in_tenant, first.tenant_id, event("message.received", theirs, data={"text": "x"})) == []
    assert runs(in_tenant, second.tenant_id) == [] and considered == []
    with in_tenant(first.tenant_id):
        assert db.session.scalars(select(WorkflowRun)).all() == []


@pytest.mark.parametrize("state", ["done", "failed", "stopped"])
def test_a_finished_run_is_not_resumed(owner, in_tenant, state):
    tenant = owner.tenant_id
    contact_id = _contact(in_tenant, tenant)
    make_workflow(in_tenant, tenant, [FIELD])
    [run_id] = deliver(in_tenant, tenant, event("message.received", contact_id, data={"text": "x"}))
    with in_tenant(tenant):
        db.session.scalar(select(WorkflowRun).where(WorkflowRun.id == run_id)).state = state
    assert advance(in_tenant, tenant, run_id) is None
    assert _done_field(in_tenant, tenant, contact_id) is None


def test_the_sweeps_are_on_the_cron_schedule():
    from rq import cron

    import jobs.cron  # noqa: F401  (registers the schedule)

    names = {entry["func"].__name__ for entry in cron._job_data_registry if entry["interval"] == 60}
    assert {"resume_due_runs", "fire_daily_workflows"} <= names
