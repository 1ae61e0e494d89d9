"""Settings › Webhooks: create (422 with reasons), secret shown once, rotate, turn off and on, delete, log, replay."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent, WebhookDelivery, WebhookSubscription
from tests.outbound_webhooks.helpers import dispatch, emit_event, receiver_verifies

HX = {"HX-Request": "true"}
SECRET = re.compile(r"whsec_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def owner(create_user, login):
    user = create_user()
    login(user)
    return user


def _create(client, url, events=("message.received", "contact.created")):
    return client.post("/settings/webhooks", data={"url": url, "events": list(events)})


def _actions(in_tenant, tenant_id):
    with in_tenant(tenant_id):
        return [a.action for a in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
                if a.action.startswith("webhook.")]


@pytest.mark.parametrize("url, events, message", [
    ("", ["message.received"], "Enter the URL that receives the events."),
    ("ftp://example.com/x", ["message.received"], "The URL must start with https:// or http://."),
    ("https://169.254.169.254/latest", ["message.received"], "169.254.169.254 is a link-local address"),
    ("https://93.184.216.34/x", [], "Choose at least one event."),
    ("https://93.184.216.34/x", ["message.deleted"], "Unknown event: message.deleted."),
])
def test_a_refused_webhook_answers_422_with_the_reason(client, owner, in_tenant, url, events, message):
    for headers in ({}, HX):
        response = client.post("/settings/webhooks", data={"url": url, "events": events}, headers=headers)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    with in_tenant(owner.tenant_id):
        assert db.session.scalar(select(WebhookSubscription)) is None


def test_the_secret_is_shown_once_and_stored_encrypted(client, owner, in_tenant, receiver, run_jobs, owner_engine):
    response = _create(client, receiver.url)
    assert response.status_code == 201
    [secret] = set(SECRET.findall(response.get_data(as_text=True)))
    with in_tenant(owner.tenant_id):
        subscription = db.session.scalar(select(WebhookSubscription))
        assert subscription.secret == secret and subscription.events == ["message.received", "contact.created"]
        subscription_id = subscription.id
    for url in ("/settings/webhooks", f"/settings/webhooks/{subscription_id}"):
        page = client.get(url).get_data(as_text=True)
        assert receiver.url in page and secret not in page and not SECRET.search(page)
    with owner_engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT secret FROM webhook_subscriptions").scalar()
    assert secret not in stored  # ciphertext at rest
    assert _actions(in_tenant, owner.tenant_id) == ["webhook.created"]


def test_rotating_shows_a_new_secret_and_the_old_one_stops_signing(client, owner, in_tenant, receiver, run_jobs):
    [old] = set(SECRET.findall(_create(client, receiver.url).get_data(as_text=True)))
    with in_tenant(owner.tenant_id):
        subscription_id = db.session.scalar(select(WebhookSubscription.id))
    response = client.post(f"/settings/webhooks/{subscription_id}/rotate")
    assert response.status_code == 200
    [new] = set(SECRET.findall(response.get_data(as_text=True)))
    assert new != old
    with in_tenant(owner.tenant_id):
        emit_event()
    run_jobs()
    [request] = receiver.requests
    assert receiver_verifies(new, request["headers"], request["body"])
    assert not receiver_verifies(old, request["headers"], request["body"])
    assert _actions(in_tenant, owner.tenant_id) == ["webhook.created", "webhook.secret_rotated"]


def test_edit_turn_off_and_on_then_delete(client, owner, in_tenant):
    _create(client, "https://93.184.216.34/a")
    with in_tenant(owner.tenant_id):
        subscription_id = db.session.scalar(select(WebhookSubscription.id))
    base = f"/settings/webhooks/{subscription_id}"
    refused = client.post(base, data={"url": "https://169.254.169.254/b", "events": ["contact.updated"]})
    assert refused.status_code == 422 and "169.254.169.254 is a link-local address" in refused.get_data(as_text=True)
    saved = client.post(base, data={"url": "https://93.184.216.34/b", "events": ["contact.updated"]})
    assert saved.status_code == 303
    assert client.post(f"{base}/disable").status_code == 303
    with in_tenant(owner.tenant_id):
        subscription = db.session.get(WebhookSubscription, subscription_id)
        assert (subscription.url, subscription.events, subscription.enabled) == (
            "https://93.184.216.34/b", ["contact.updated"], False)
    assert "Turn on" in client.get(base).get_data(as_text=True)
    assert client.post(f"{base}/enable").status_code == 303
    with in_tenant(owner.tenant_id):
        emit_event("contact.updated", data={"fields": ["name"]})
    dispatch(owner.tenant_id)
    with in_tenant(owner.tenant_id):
        assert db.session.scalar(select(WebhookDelivery)).event_kind == "contact.updated"
    assert client.post(f"{base}/delete").status_code == 303
    with in_tenant(owner.tenant_id):
        assert db.session.get(WebhookSubscription, subscription_id) is None
        assert db.session.scalar(select(WebhookDelivery)) is None  # its log went with it
    assert client.get(base).status_code == 404
    assert _actions(in_tenant, owner.tenant_id) == [
        "webhook.created", "webhook.updated", "webhook.disabled", "webhook.enabled", "webhook.deleted"]


def test_the_log_shows_codes_and_errors_and_replays(client, owner, in_tenant, receiver, run_jobs):
    _create(client, receiver.url)
    with in_tenant(owner.tenant_id):
        subscription_id = db.session.scalar(select(WebhookSubscription.id))
        emit_event()
    receiver.statuses = [502]
    run_jobs()
    with in_tenant(owner.tenant_id):
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
    log = client.get(f"/settings/webhooks/{subscription_id}").get_data(as_text=True)
    assert f'id="delivery-{delivery_id}"' in log and "502" in log and "HTTP 502" in log and "Retrying" in log
    detail = client.get(f"/settings/webhooks/deliveries/{delivery_id}").get_data(as_text=True)
    assert "502" in detail and "message.received" in detail and '{&#34;received&#34;: 1}' in detail
    assert client.post(f"/settings/webhooks/deliveries/{delivery_id}/replay").status_code == 303
    run_jobs()
    assert len(receiver.requests) == 2
    detail = client.get(f"/settings/webhooks/deliveries/{delivery_id}").get_data(as_text=True)
    assert "Delivered" in detail and detail.count('id="attempt-') == 2


def test_a_replay_of_a_turned_off_webhook_is_refused_with_the_reason(client, owner, in_tenant):
    _create(client, "https://93.184.216.34/a")
    with in_tenant(owner.tenant_id):
        emit_event()
    dispatch(owner.tenant_id)
    with in_tenant(owner.tenant_id):
        db.session.scalar(select(WebhookSubscription)).enabled = False
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
    response = client.post(f"/settings/webhooks/deliveries/{delivery_id}/replay", follow_redirects=True)
    assert "Turn the webhook on before replaying its deliveries." in response.get_data(as_text=True)
