"""Workflows fed by the real domain events: emitted with a change, dispatched by the job, runs advanced by a
worker; a workflow whose own action re-fires its trigger is stopped with a "loop" entry."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Contact, ContactTag, DomainEvent, Tag
from services import contacts
from tests.factories import make_contact, make_tag
from tests.workflows.helpers import make_workflow, runs, texts


def test_a_tag_added_in_the_app_runs_the_workflow_through_the_event_outbox(owner, in_tenant, run_jobs):
    tenant = owner.tenant_id
    with in_tenant(tenant):
        vip_id, contact_id = make_tag("vip").id, make_contact().id
    workflow_id = make_workflow(in_tenant, tenant, [{"kind": "set_field", "field": "tier", "value": "gold"}],
                                trigger_kind="tag.added", trigger={"tag_id": vip_id})
    with in_tenant(tenant):
        contacts.add_tag(db.session.scalar(select(Contact).where(Contact.id == contact_id)), vip_id)
    assert runs(in_tenant, tenant) == []   # nothing runs inside the request that made the change
    run_jobs()
    [run] = runs(in_tenant, tenant, workflow_id)
    assert run.state == "done" and run.event_id is not None, texts(run)
    with in_tenant(tenant):
        assert db.session.scalar(select(Contact.custom_fields).where(Contact.id == contact_id)) == {"tier": "gold"}
        assert db.session.scalar(select(DomainEvent.dispatched_at).where(DomainEvent.id == run.event_id))


def test_a_workflow_that_retriggers_itself_stops_with_a_loop_entry(owner, in_tenant, run_jobs):
    tenant = owner.tenant_id
    with in_tenant(tenant):
        ping, pong, contact_id = make_tag("ping").id, make_tag("pong").id, make_contact().id
    # Any tag added -> swap ping and pong: each action adds a tag, which would fire the workflow forever.
    workflow_id = make_workflow(in_tenant, tenant, [{"kind": "remove_tag", "tag_id": ping},
                                                    {"kind": "add_tag", "tag_id": pong},
                                                    {"kind": "remove_tag", "tag_id": pong},
                                                    {"kind": "add_tag", "tag_id": ping}],
                                trigger_kind="tag.added", trigger={})
    with in_tenant(tenant):
        contacts.add_tag(db.session.scalar(select(Contact).where(Contact.id == contact_id)), ping)
    for _ in range(5):
        run_jobs()
    rows = runs(in_tenant, tenant, workflow_id)
    assert [r.state for r in rows] == ["done", "stopped", "stopped"]
    assert all(texts(r)[-1].startswith("stopped: loop: this workflow's own action") for r in rows[1:])
    assert rows[1].chain == [workflow_id, workflow_id] and rows[1].depth == 2
    with in_tenant(tenant):
        assert set(db.session.scalars(select(Tag.name).join(ContactTag, ContactTag.tag_id == Tag.id))) == {"ping"}
        # Every event was taken: nothing is left to retry.
        assert db.session.scalar(select(DomainEvent.id).where(DomainEvent.dispatched_at.is_(None))) is None
