"""Jobs enter their tenant's scope from their arguments and run on a real RQ worker."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from extensions import db, get_redis
from jobs.context import app_job, tenant_job
from models import Contact
from models.tenancy import TenantScopeError
from services.queueing import queue
from tests.factories import make_contact


@tenant_job
def count_contacts(tenant_id: int) -> int:
    """A tenant job used by these tests."""
    return db.session.scalar(select(func.count(Contact.id)))


@app_job
def unscoped_count() -> int:
    """A job that forgot its tenant: must fail closed."""
    return db.session.scalar(select(func.count(Contact.id)))


def test_tenant_job_sees_only_its_tenant(app, create_user, in_tenant, run_jobs):
    a, b = create_user(), create_user()
    with in_tenant(a.tenant_id):
        make_contact(), make_contact()
    with in_tenant(b.tenant_id):
        make_contact()
    assert count_contacts(a.tenant_id) == 2
    assert count_contacts(b.tenant_id) == 1
    with pytest.raises(TenantScopeError):
        unscoped_count()


def test_jobs_run_on_a_real_worker(app, create_user, in_tenant, run_jobs):
    user = create_user()
    with in_tenant(user.tenant_id):
        make_contact()
    with app.app_context():
        q = queue("test")
        good = q.enqueue(count_contacts, user.tenant_id)
        bad = q.enqueue(unscoped_count)
    # One finished, one failed: the count must tell them apart.
    assert run_jobs("test") == 1
    with app.app_context():
        assert good.get_status() == "finished" and good.return_value() == 1
        assert bad.get_status() == "failed"
        assert "TenantScopeError" in bad.latest_result().exc_string


def test_cron_heartbeat_job(app):
    from jobs.maintenance import HEARTBEAT_KEY, record_heartbeat

    with app.app_context():
        stamp = record_heartbeat()
        assert float(get_redis().get(HEARTBEAT_KEY)) == stamp


def test_a_rolled_back_savepoint_forgets_only_the_jobs_asked_for_inside_it(app, create_user, in_tenant):
    from services.queueing import DEFAULT_QUEUE, enqueue_after_commit, queue

    def queued() -> list[tuple]:
        return sorted(job.args for job in queue(DEFAULT_QUEUE).jobs)

    with in_tenant(create_user().tenant_id):
        queue(DEFAULT_QUEUE).empty()
        enqueue_after_commit("jobs.maintenance.record_heartbeat", "before")
        try:
            with db.session.begin_nested():
                enqueue_after_commit("jobs.maintenance.record_heartbeat", "inside")
                with db.session.begin_nested():  # released into the failing savepoint: goes with it
                    enqueue_after_commit("jobs.maintenance.record_heartbeat", "nested inside")
                raise ValueError("this step fails")
        except ValueError:
            pass
        with db.session.begin_nested():  # a savepoint that succeeds keeps its jobs
            enqueue_after_commit("jobs.maintenance.record_heartbeat", "kept")
        enqueue_after_commit("jobs.maintenance.record_heartbeat", "after")
        db.session.commit()
        assert queued() == [("after",), ("before",), ("kept",)]
        make_contact()
        enqueue_after_commit("jobs.maintenance.record_heartbeat", "rolled back")
        db.session.rollback()
        db.session.commit()
        assert queued() == [("after",), ("before",), ("kept",)]


def test_jobs_wait_for_the_transactions_commit_not_a_savepoints_release(app, create_user, in_tenant):
    from services.queueing import DEFAULT_QUEUE, enqueue_after_commit, queue

    with in_tenant(create_user().tenant_id):
        queue(DEFAULT_QUEUE).empty()
        enqueue_after_commit("jobs.maintenance.record_heartbeat", "asked")
        with db.session.begin_nested():
            make_contact()
        assert queue(DEFAULT_QUEUE).jobs == []  # a worker must not run it before its rows are committed
        db.session.commit()
        assert [job.args for job in queue(DEFAULT_QUEUE).jobs] == [("asked",)]


def test_pollers_hear_of_a_change_when_the_transaction_commits_not_when_a_savepoint_is_released(
        app, create_user, in_tenant):
    from services.inbox_version import current

    user = create_user()
    with in_tenant(user.tenant_id):
        before = current(user.tenant_id)
        with db.session.begin_nested():
            make_contact()
        assert current(user.tenant_id) == before  # the contact is not committed yet: a poll would not see it
        db.session.commit()
        assert current(user.tenant_id) != before


def test_a_delayed_job_is_never_lost_to_a_scheduler_pass_that_runs_while_it_is_being_scheduled(app):
    """Every delayed job reaches its queue however the scheduler's passes fall (RQ's enqueue_in could lose some)."""
    import threading

    from rq.scheduler import RQScheduler

    from services.queueing import BULK_QUEUE, enqueue_now

    with app.app_context():
        bulk = queue(BULK_QUEUE)
        scheduler = RQScheduler([bulk], connection=get_redis())
        assert scheduler.acquire_locks()
        stop = threading.Event()

        def passes():
            while not stop.is_set():
                scheduler.enqueue_scheduled_jobs()

        thread = threading.Thread(target=passes)
        thread.start()
        try:
            ids = [enqueue_now("jobs.maintenance.record_heartbeat", delay=0.001, queue_name=BULK_QUEUE).id
                   for _ in range(1000)]
        finally:
            stop.set()
            thread.join()
        scheduler.enqueue_scheduled_jobs()  # the last ones' second may have come only now
        queued = set(bulk.get_job_ids())
        assert [job_id for job_id in ids if job_id not in queued] == []
        scheduler.release_locks()
