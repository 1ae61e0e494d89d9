"""Domain events: recorded with the change that made them, dispatched after commit, retried, kept per workspace."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from extensions import db
from jobs import events as event_jobs
from models import DomainEvent, Tenant
from models.base import utcnow
from models.tenancy import TenantScopeError, unscoped
from services import events
from tests.factories import make_contact, make_tag


@pytest.fixture
def heard():
    """A consumer of every kind that records (tenant, kind, contact, subject); can be told to fail."""
    calls, failing = [], {"on": False}

    def listen(event):
        if failing["on"]:
            raise RuntimeError("consumer is down")
        calls.append((event.tenant_id, event.kind, event.contact_id, event.subject_id, event.data))

    for kind in events.KINDS:
        events.consumer(kind)(listen)
    yield calls, failing
    for kind in events.KINDS:
        events._CONSUMERS[kind].remove(listen)


def kinds(tenant_id=None) -> list[tuple[str, dict]]:
    with unscoped():
        stmt = select(DomainEvent).order_by(DomainEvent.id)
        if tenant_id is not None:
            stmt = stmt.where(DomainEvent.tenant_id == tenant_id)
        return [(e.kind, e.data) for e in db.session.scalars(stmt)]


def test_an_event_exists_only_if_its_transaction_commits(app, create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        contact = make_contact(name="Ana")
        db.session.commit()
        tag = make_tag(name="vip")
        from services.contacts import add_tag
        add_tag(contact, tag.id)
        db.session.rollback()
        assert [k for k, _ in kinds()] == []
        add_tag(contact, make_tag(name="lead").id)
        db.session.commit()
        assert kinds() == [("tag.added", {"tag": "lead"})]


def test_emitting_without_a_workspace_fails_closed(app):
    with app.app_context(), pytest.raises(TenantScopeError):
        events.emit(events.CONTACT_CREATED, contact_id=1)


def test_an_unknown_kind_is_refused(app, create_user, in_tenant):
    with in_tenant(create_user().tenant_id), pytest.raises(ValueError):
        events.emit("contact.exploded")


def test_dispatch_hands_each_event_to_its_consumers_once_then_marks_it(app, create_user, in_tenant, heard, run_jobs):
    calls, _ = heard
    user = create_user()
    with in_tenant(user.tenant_id):
        contact_id = make_contact(name="Ana").id
        events.emit(events.CONTACT_UPDATED, contact_id=contact_id, data={"fields": ["name"]})
    run_jobs()  # the commit enqueued the workspace's dispatch
    assert (user.tenant_id, "contact.updated", contact_id, None, {"fields": ["name"]}) in calls
    with app.app_context(), unscoped():
        assert db.session.scalar(select(DomainEvent.dispatched_at)) is not None
    before = len(calls)
    with app.app_context():
        assert event_jobs.dispatch_events(user.tenant_id) == 0
    assert len(calls) == before


def test_a_failing_consumer_leaves_the_reason_and_the_event_is_tried_again(app, create_user, in_tenant, heard):
    calls, failing = heard
    user = create_user()
    with in_tenant(user.tenant_id):
        events.emit(events.CONTACT_CREATED, contact_id=7, data={"source": "ui"})
    failing["on"] = True
    with app.app_context():
        assert event_jobs.dispatch_events(user.tenant_id) == 0
    with app.app_context(), unscoped():
        event = db.session.scalar(select(DomainEvent))
        assert event.dispatched_at is None and event.attempts == 1
        assert event.error == "RuntimeError: consumer is down" and event.next_attempt_at > utcnow()
        # Not before its time: a second dispatch leaves it alone.
    with app.app_context():
        assert event_jobs.dispatch_events(user.tenant_id) == 0
    failing["on"] = False
    with app.app_context(), unscoped():
        db.session.execute(update(DomainEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1),
                                                      created_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
        assert event_jobs.requeue_stale_dispatches() == 1  # the sweep brings the retry
    with app.app_context():
        assert event_jobs.dispatch_events(user.tenant_id) == 1
    with app.app_context(), unscoped():
        event = db.session.scalar(select(DomainEvent))
        assert event.dispatched_at is not None and event.error is None
    assert [c[1] for c in calls] == ["contact.created"]


def test_a_workspace_dispatch_sees_only_its_own_events(app, create_user, in_tenant, heard):
    calls, _ = heard
    first, second = create_user(), create_user()
    with in_tenant(first.tenant_id):
        events.emit(events.CONTACT_CREATED, contact_id=1)
    with in_tenant(second.tenant_id):
        events.emit(events.CONTACT_CREATED, contact_id=2)
    with app.app_context():
        assert event_jobs.dispatch_events(second.tenant_id) == 1
    assert [(c[0], c[2]) for c in calls] == [(second.tenant_id, 2)]


def test_the_sweep_requeues_lost_dispatches_but_not_a_suspended_workspace(app, create_user, in_tenant, heard):
    active, suspended = create_user(), create_user()
    for user in (active, suspended):
        with in_tenant(user.tenant_id):
            events.emit(events.CONTACT_CREATED, contact_id=1)
    with app.app_context(), unscoped():
        db.session.execute(update(DomainEvent).values(created_at=utcnow() - timedelta(minutes=5)))
        db.session.execute(update(Tenant).where(Tenant.id == suspended.tenant_id).values(status=Tenant.SUSPENDED))
        db.session.commit()
        app.extensions["messagehub.redis"].flushdb()  # the jobs the commits enqueued are lost
        assert event_jobs.requeue_stale_dispatches() == 1
        assert event_jobs.dispatch_events(suspended.tenant_id) == 0


def test_events_carry_the_origin_they_were_emitted_under(app, create_user, in_tenant):
    with in_tenant(create_user().tenant_id):
        with events.origin({"workflow_id": 3, "depth": 1}):
            events.emit(events.TAG_ADDED, contact_id=1, subject_id=2)
        events.emit(events.TAG_ADDED, contact_id=1, subject_id=3)
        db.session.flush()
        origins = [e.origin for e in db.session.scalars(select(DomainEvent).order_by(DomainEvent.id))]
    assert origins == [{"workflow_id": 3, "depth": 1}, None]


def test_the_sweep_is_on_the_cron_schedule():
    from rq import cron

    import jobs.cron  # noqa: F401  (registers the schedule)

    assert any(entry["func"].__name__ == "requeue_stale_dispatches" and entry["interval"] == 60
               for entry in cron._job_data_registry)


def test_retention_deletes_dispatched_events_after_a_month_and_keeps_undispatched_ones(app, create_user, in_tenant):
    from jobs.retention import prune_tenant_history

    user = create_user()
    with in_tenant(user.tenant_id):
        make_contact()  # retention runs for workspaces with messages; prune_tenant_history runs it directly
        old, recent, waiting = (events.emit(events.CONTACT_CREATED, contact_id=n) for n in (1, 2, 3))
        db.session.flush()
        old.dispatched_at = utcnow() - timedelta(days=31)
        recent.dispatched_at = utcnow() - timedelta(days=29)
        waiting.created_at = utcnow() - timedelta(days=60)
    with app.app_context():
        prune_tenant_history(user.tenant_id)
    with in_tenant(user.tenant_id):
        assert sorted(db.session.scalars(select(DomainEvent.contact_id))) == [2, 3]


def test_events_nobody_wants_are_settled_without_consumers_and_bulk_ones_not_written(app, create_user, in_tenant):
    calls, interested = [], {"on": False}

    def listen(event):
        calls.append(event.id)

    events.consumer(events.DRIP_COMPLETED, wants=lambda kind: interested["on"])(listen)
    try:
        user = create_user()
        with in_tenant(user.tenant_id):
            assert events.emit_many(events.DRIP_COMPLETED, [{"contact_id": 1}, {"contact_id": 2}]) == 0
            events.emit(events.DRIP_COMPLETED, contact_id=3)  # one at a time, it is written all the same
        with app.app_context():
            assert event_jobs.dispatch_events(user.tenant_id) == 1
        assert calls == []  # nobody wanted it: marked dispatched without a call
        interested["on"] = True
        with in_tenant(user.tenant_id):
            assert events.emit_many(events.DRIP_COMPLETED, [{"contact_id": 4}]) == 1
        with app.app_context():
            assert event_jobs.dispatch_events(user.tenant_id) == 1
        assert len(calls) == 1
        with app.app_context(), unscoped():
            assert sorted(db.session.scalars(select(DomainEvent.contact_id))) == [3, 4]
            assert db.session.scalar(select(DomainEvent).where(DomainEvent.dispatched_at.is_(None))) is None
    finally:
        events._CONSUMERS[events.DRIP_COMPLETED].remove(listen)
        events._INTERESTS.pop(listen, None)
