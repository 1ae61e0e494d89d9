"""The consumer: one delivery per matching enabled subscription, once per event, never another workspace's."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from extensions import db
from models import WebhookDelivery
from models.tenancy import unscoped
from services.outbound_webhooks import create_subscription
from services.outbound_webhooks.deliveries import on_event
from tests.outbound_webhooks.helpers import fake_event


def _count(app) -> int:
    with app.app_context(), unscoped():
        return db.session.scalar(select(func.count()).select_from(WebhookDelivery))


def test_dispatching_the_same_event_twice_makes_one_delivery(app, create_user, in_tenant, receiver, run_jobs):
    owner = create_user()
    event = fake_event()
    with in_tenant(owner.tenant_id):
        create_subscription(receiver.url, ["message.received"])
    with in_tenant(owner.tenant_id):
        on_event(event)
    with in_tenant(owner.tenant_id):
        on_event(event)  # at least once: the dispatcher may hand it over again
    assert _count(app) == 1
    run_jobs()
    with in_tenant(owner.tenant_id):
        on_event(event)  # even after it was delivered: no row, and no attempt asked for
    assert run_jobs() == 0
    assert _count(app) == 1 and len(receiver.requests) == 1


def test_only_subscriptions_wanting_the_kind_get_it(app, create_user, in_tenant, receiver, run_jobs):
    owner = create_user()
    with in_tenant(owner.tenant_id):
        create_subscription(receiver.url + "/messages", ["message.received"])
        create_subscription(receiver.url + "/deals", ["deal.stage_changed"])
        create_subscription(receiver.url + "/both", ["message.received", "deal.stage_changed"])
        on_event(fake_event("deal.stage_changed", data={"pipeline_id": 1, "from_stage_id": 2, "to_stage_id": 3}))
        on_event(fake_event("tag.added", data={"tag": "vip"}))  # no subscription can choose it
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
        on_event(fake_event("contact.created", data={"source": "ui"}))
    run_jobs()
    [request] = receiver.requests
    assert request["path"] == "/hooks/first"
    assert json.loads(request["body"])["workspace_id"] == first.tenant_id
    with in_tenant(second.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
