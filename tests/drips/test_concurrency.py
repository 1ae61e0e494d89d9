"""Drip sweeps running at once on PostgreSQL: every due step is queued exactly once."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from extensions import db
from models import DripEnrolment, DripStepSend, Message
from tests.drips.helpers import T0, a_contact, enrol_at, make_sequence


def test_concurrent_sweeps_and_timed_jobs_queue_each_step_once(app, sandbox_owner, in_tenant):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("two sessions sweeping at once need PostgreSQL (SQLite writes one transaction at a time)")
    from jobs.drips import send_due_for_tenant, send_due_steps

    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, [(0, "minutes", "previous", "Once only")])
    for n in range(450):
        enrol_at(in_tenant, tenant_id, a_contact(in_tenant, tenant_id, name=f"C{n}", phone=f"+1415777{n:04d}"),
                 sequence_id, T0)
    barrier, errors = threading.Barrier(4), []

    def run(kind: str) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                send_due_steps(now=T0) if kind == "sweep" else send_due_for_tenant(tenant_id, now=T0)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in ("sweep", "sweep", "job", "job")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with in_tenant(tenant_id):
        assert db.session.scalar(select(func.count(Message.id)).where(Message.origin == "drip")) == 450
        assert db.session.scalar(select(func.count(func.distinct(Message.contact_id)))) == 450
        assert db.session.scalar(select(func.count(DripStepSend.id))) == 450
        assert set(db.session.scalars(select(DripEnrolment.state))) == {"completed"}
