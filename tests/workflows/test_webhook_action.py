"""The "call a webhook" action: a signed POST to one of the workspace's webhooks, logged with its deliveries."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from models import WebhookDelivery
from services.errors import Invalid
from services.outbound_webhooks.subscriptions import create_subscription, set_enabled
from services.workflows.definitions import WorkflowInput, save_workflow
from tests.factories import make_contact
from tests.outbound_webhooks.conftest import app_overrides, receiver  # noqa: F401 (fixtures)
from tests.workflows.helpers import advance, deliver, event, make_workflow, runs, texts


def subscribe(in_tenant, tenant_id: int, url: str) -> tuple[int, str]:
    with in_tenant(tenant_id):
        subscription, secret = create_subscription(url, ["contact.created"])
        return subscription.id, secret


def test_the_step_posts_the_contact_signed_with_the_webhooks_secret(owner, in_tenant, receiver, run_jobs):
    tenant = owner.tenant_id
    webhook_id, secret = subscribe(in_tenant, tenant, receiver.url)
    with in_tenant(tenant):
        contact_id = make_contact(name="Ana Souza", custom_fields={"plan": "gold"}).id
    workflow_id = make_workflow(in_tenant, tenant, [{"kind": "call_webhook", "webhook_id": webhook_id,
                                                     "note": "Lead {{first_name}} asked for prices"}])
    [run_id] = deliver(in_tenant, tenant, event("message.received", contact_id, data={"text": "PRICE"}))
    advance(in_tenant, tenant, run_id)
    [run] = runs(in_tenant, tenant)
    assert run.state == "done" and any("queued webhook delivery" in line for line in texts(run))
    run_jobs()
    [request] = receiver.requests
    body = json.loads(request["body"])
    assert (body["workflow_id"], body["run_id"], body["note"]) == (workflow_id, run_id, "Lead Ana asked for prices")
    assert body["contact"]["id"] == contact_id and body["contact"]["custom_fields"] == {"plan": "gold"}
    assert request["headers"]["X-MessageHub-Event"] == "workflow.webhook"
    timestamp = request["headers"]["X-MessageHub-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-MessageHub-Signature"] == f"v1={expected}"
    with in_tenant(tenant) as session:  # in the webhook's own delivery log
        delivery = session.scalar(select(WebhookDelivery))
        assert (delivery.subscription_id, delivery.state) == (webhook_id, "delivered")


def test_a_webhook_turned_off_fails_the_step_with_the_reason(owner, in_tenant, receiver):
    tenant = owner.tenant_id
    webhook_id, _secret = subscribe(in_tenant, tenant, receiver.url)
    with in_tenant(tenant):
        contact_id = make_contact().id
    make_workflow(in_tenant, tenant, [{"kind": "call_webhook", "webhook_id": webhook_id}])
    with in_tenant(tenant) as session:
        from models import WebhookSubscription
        set_enabled(session.scalar(select(WebhookSubscription)), False)
    [run_id] = deliver(in_tenant, tenant, event("message.received", contact_id, data={"text": "hi"}))
    advance(in_tenant, tenant, run_id)
    [run] = runs(in_tenant, tenant)
    assert run.state == "failed" and any("is turned off" in line for line in texts(run)), texts(run)
    assert receiver.requests == []


def test_another_workspaces_webhook_cannot_be_chosen(owner, create_user, in_tenant, receiver):
    other_webhook, _secret = subscribe(in_tenant, create_user().tenant_id, receiver.url)
    with in_tenant(owner.tenant_id), pytest.raises(Invalid) as refused:
        save_workflow(WorkflowInput(name="Leak", trigger_kind="message.received", trigger={"match": "any"},
                                    conditions=[], actions=[{"kind": "call_webhook", "webhook_id": other_webhook}]))
    assert "choose one of yours" in str(refused.value.errors)
