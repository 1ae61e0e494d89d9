"""The consumer: one delivery per matching enabled subscription, once per event, never another workspace's."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from extensions import db
from jobs.events import dispatch_one
from models import DomainEvent, WebhookDelivery
from models.tenancy import unscoped
from services import events
from services.outbound_webhooks import create_subscription
from services.outbound_webhooks.deliveries import on_event
from tests.outbound_webhooks.helpers import dispatch, emit_event


def _count(app) -> int:
    with app.app_context(), unscoped():
        return db.session.scalar(select(func.count()).select_from(WebhookDelivery))


def _dispatch_again(in_tenant, tenant_id, event_id):
    """What an at-least-once dispatcher may do: hand the same event over once more."""
    with in_tenant(tenant_id):
        assert dispatch_one(db.session.get(DomainEvent, event_id))


def test_it_is_registered_for_the_events_a_subscription_can_choose():
    for kind in ("message.received", "message.status", "contact.created", "contact.updated", "deal.stage_changed",
                 "broadcast.finished"):
        assert on_event in events.consumers_of(kind)
    assert on_event not in events.consumers_of("tag.added")


def test_the_dispatch_job_registers_it_by_itself():
    """A process that imports only the dispatch job (no app, no pages) still hands events to webhooks."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import jobs.events\nfrom services import events\n"
            "print(sorted(f.__module__ for f in events.consumers_of('contact.updated')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True,
                         text=True, check=True).stdout
    assert "services.outbound_webhooks.deliveries" in out


def test_dispatching_the_same_event_twice_makes_one_delivery(app, create_user, in_tenant, receiver, run_jobs):
    owner = create_user()
    with in_tenant(owner.tenant_id):
        create_subscription(receiver.url, ["message.received"])
        event_id = emit_event().id
    assert dispatch(owner.tenant_id) == 1
    _dispatch_again(in_tenant, owner.tenant_id, event_id)
    assert _count(app) == 1
    run_jobs()
    _dispatch_again(in_tenant, owner.tenant_id, event_id)  # even after it was delivered: no row, no attempt
    assert run_jobs() == 0
    assert _count(app) == 1 and len(receiver.requests) == 1


def test_only_subscriptions_wanting_the_kind_get_it(app, create_user, in_tenant, receiver, run_jobs):
    owner = create_user()
    with in_tenant(owner.tenant_id):
        create_subscription(receiver.url + "/messages", ["message.received"])
        create_subscription(receiver.url + "/deals", ["deal.stage_changed"])
        create_subscription(receiver.url + "/both", ["message.received", "deal.stage_changed"])
        emit_event("deal.stage_changed", data={"pipeline_id": 1, "from_stage_id": 2, "to_stage_id": 3})
        emit_event("tag.added", data={"tag": "vip"})  # no subscription can choose it
    run_jobs()
    assert sorted(r["path"] for r in receiver.requests) == ["/hooks/both", "/hooks/deals"]
    assert all(json.loads(r["body"])["data"]["to_stage_id"] == 3 for r in receiver.requests)


def test_a_workspaces_events_never_reach_another_workspaces_subscription(app, create_user, in_tenant, receiver,
                                                                        run_jobs):
    first, second = create_user(tenant_name="First"), create_user(tenant_name="Second")
    with in_tenant(first.tenant_id):
        create_subscription(receiver.url + "/first", ["contact.created"])
    with in_tenant(second.tenant_id):
        create_subscription(receiver.url + "/second", ["contact.created"])
    with in_tenant(first.tenant_id):
        emit_event("contact.created", data={"source": "ui"})
    run_jobs()
    [request] = receiver.requests
    assert request["path"] == "/hooks/first"
    assert json.loads(request["body"])["workspace_id"] == first.tenant_id
    with in_tenant(second.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_a_contact_added_on_its_page_reaches_the_webhook(app, create_user, login, client, in_tenant, receiver,
                                                        run_jobs):
    """End to end: the contacts page's change emits contact.created; the dispatch and the delivery follow."""
    owner = create_user()
    login(owner)
    with in_tenant(owner.tenant_id):
        create_subscription(receiver.url, ["contact.created"])
    response = client.post("/contacts/new", data={"name": "Bea", "phone": "+14155550123"})
    assert response.status_code == 303
    run_jobs()
    [request] = receiver.requests
    sent = json.loads(request["body"])
    assert sent["event"] == "contact.created" and sent["data"] == {"source": "ui"}
    assert sent["contact"]["name"] == "Bea" and sent["contact"]["phone"] == "+14155550123"
