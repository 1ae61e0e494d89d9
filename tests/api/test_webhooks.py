"""/api/v1/webhooks: subscriptions with secrets shown once, their deliveries and replays, per workspace."""
from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select, text

from extensions import db
from models import WebhookDelivery, WebhookSubscription
from models.tenancy import tenant_scope
from tests.api.conftest import fields_of, problem_of
from tests.outbound_webhooks.conftest import app_overrides, receiver  # noqa: F401 (fixtures)


def subscribe(api, url: str, events=("contact.created",)) -> dict:
    response = api.post("/webhooks", json={"url": url, "events": list(events)})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_a_subscription_shows_its_secret_once_and_stores_it_encrypted(app, api, receiver):
    created = subscribe(api, receiver.url)
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    shown = api.get(f"/webhooks/{created['id']}").get_json()
    assert "secret" not in shown and shown["url"] == receiver.url
    assert [item["id"] for item in api.get("/webhooks").get_json()["items"]] == [created["id"]]
    with app.app_context(), tenant_scope(api.tenant_id):  # as stored, past the column's decryption
        stored = db.session.execute(text("SELECT secret FROM webhook_subscriptions")).scalar()
    assert stored
    assert created["secret"] not in stored


def test_refused_urls_and_events_name_their_field(api):
    body = problem_of(api.post("/webhooks", json={"url": "ftp://127.0.0.1/hook", "events": ["contact.created"]}), 422)
    assert "url" in fields_of(body)
    body = problem_of(api.post("/webhooks", json={"url": "https://127.0.0.1/h", "events": ["contact.exploded"]}), 422)
    assert "events" in fields_of(body)


def test_update_turn_off_rotate_and_delete(app, api, receiver):
    created = subscribe(api, receiver.url)
    path = f"/webhooks/{created['id']}"
    changed = api.patch(path, json={"events": ["contact.created", "deal.stage_changed"], "enabled": False}).get_json()
    assert (changed["events"], changed["enabled"]) == (["contact.created", "deal.stage_changed"], False)
    rotated = api.post(f"{path}/secret").get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert api.delete(path).get_json() == {"id": created["id"], "deleted": True}
    problem_of(api.get(path), 404)


def test_an_event_is_delivered_signed_listed_and_replayed(app, api, receiver, run_jobs):
    created = subscribe(api, receiver.url)
    assert api.post("/contacts", json={"name": "Ana", "phone": "+14155550101"}).status_code == 201
    run_jobs()  # dispatch the contact.created event, then send its delivery
    [request] = receiver.requests
    timestamp, signature = request["headers"]["X-MessageHub-Timestamp"], request["headers"]["X-MessageHub-Signature"]
    expected = hmac.new(created["secret"].encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256)
    assert signature == f"v1={expected.hexdigest()}"
    [delivery] = api.get(f"/webhooks/{created['id']}/deliveries").get_json()["items"]
    assert (delivery["event"], delivery["state"], delivery["last_response_code"]) == ("contact.created",
                                                                                       "delivered", 200)
    replayed = api.post(f"/webhooks/{created['id']}/deliveries/{delivery['id']}/replay")
    assert replayed.status_code == 202
    run_jobs()
    assert len(receiver.requests) == 2


def test_another_workspace_gets_404_for_every_webhook_route(app, api, other_api, receiver, run_jobs):
    created = subscribe(api, receiver.url)
    api.post("/contacts", json={"name": "Ana", "phone": "+14155550101"})
    run_jobs()
    with app.app_context(), tenant_scope(api.tenant_id):
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
    base = f"/webhooks/{created['id']}"
    for call in (other_api.get(base), other_api.patch(base, json={"enabled": False}), other_api.delete(base),
                 other_api.post(f"{base}/secret"), other_api.get(f"{base}/deliveries"),
                 other_api.post(f"{base}/deliveries/{delivery_id}/replay")):
        problem_of(call, 404)
    assert other_api.get("/webhooks").get_json() == {"items": []}
    # A delivery replayed through another subscription of the same workspace is not found either.
    second = subscribe(api, receiver.url)
    problem_of(api.post(f"/webhooks/{second['id']}/deliveries/{delivery_id}/replay"), 404)
    with app.app_context(), tenant_scope(api.tenant_id):
        subscription = db.session.scalar(select(WebhookSubscription).where(WebhookSubscription.id == created["id"]))
        assert subscription.enabled and subscription.secret == created["secret"]
