"""/api/v1/webhooks: outbound webhook subscriptions, their secrets (shown once), deliveries and replays."""
from __future__ import annotations

from datetime import datetime

from flask import request
from pydantic import BaseModel, Field

from blueprints.api.blueprint import operation, path_model, path_object
from blueprints.api.problems import ApiProblem
from blueprints.api.schemas import Deleted
from extensions import db
from models import WebhookDelivery, WebhookSubscription
from services.outbound_webhooks.deliveries import recent_deliveries, replay
from services.outbound_webhooks.subscriptions import (
    EVENTS,
    create_subscription,
    delete_subscription,
    list_subscriptions,
    rotate_secret,
    set_enabled,
    update_subscription,
)

TAG = "Webhooks"
path_model("subscription_id", WebhookSubscription)
path_model("delivery_id", WebhookDelivery)


class WebhookOut(BaseModel):
    """A subscription: where events go and which ones (its secret is never shown again)."""

    id: int
    url: str
    events: list[str]
    enabled: bool
    last_status: str | None = None
    last_attempt_at: datetime | None = None


class WebhookList(BaseModel):
    """The workspace's subscriptions, oldest first."""

    items: list[WebhookOut]


class WebhookCreated(WebhookOut):
    """A new subscription with its signing secret, shown this once."""

    secret: str


class WebhookCreate(BaseModel):
    """Subscribe an HTTPS URL to events (one or more of the kinds the document lists)."""

    url: str = Field(max_length=WebhookSubscription.URL_MAX)
    events: list[str] = Field(min_length=1, json_schema_extra={"items": {"enum": list(EVENTS)}})


class WebhookUpdate(BaseModel):
    """Change the URL, the events, or turn the subscription off and on."""

    url: str | None = Field(None, max_length=WebhookSubscription.URL_MAX)
    events: list[str] | None = None
    enabled: bool | None = None


class Secret(BaseModel):
    """A subscription's new signing secret, shown this once; the old one stops signing at once."""

    id: int
    secret: str


class DeliveryOut(BaseModel):
    """One delivery of an event to a subscription, with its latest outcome."""

    id: int
    event: str
    state: str
    attempts: int
    last_response_code: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


class DeliveryList(BaseModel):
    """A subscription's latest deliveries, newest first."""

    items: list[DeliveryOut]


def webhook_out(subscription: WebhookSubscription) -> WebhookOut:
    """The API's view of a subscription."""
    return WebhookOut(id=subscription.id, url=subscription.url, events=list(subscription.events),
                      enabled=subscription.enabled, last_status=subscription.last_status,
                      last_attempt_at=subscription.last_attempt_at)


def delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    """The API's view of a delivery."""
    return DeliveryOut(id=delivery.id, event=delivery.event_kind, state=delivery.state, attempts=delivery.attempts,
                       last_response_code=delivery.last_response_code, last_error=delivery.last_error,
                       next_attempt_at=delivery.next_attempt_at, delivered_at=delivery.delivered_at)


@operation("/webhooks", tag=TAG, ok=WebhookList)
def list_webhooks():
    """The workspace's webhook subscriptions."""
    return WebhookList(items=[webhook_out(s) for s in list_subscriptions()])


@operation("/webhooks", "POST", tag=TAG, body=WebhookCreate, ok=WebhookCreated, status=201)
def create_webhook():
    """Subscribe a URL to events; the answer holds the signing secret, shown this once."""
    data: WebhookCreate = request.context.json
    subscription, secret = create_subscription(data.url, data.events)
    db.session.commit()
    return WebhookCreated(**webhook_out(subscription).model_dump(), secret=secret), 201


@operation("/webhooks/<int:subscription_id>", tag=TAG, ok=WebhookOut)
def get_webhook(subscription_id: int):
    """One subscription."""
    return webhook_out(path_object("subscription_id"))


@operation("/webhooks/<int:subscription_id>", "PATCH", tag=TAG, body=WebhookUpdate, ok=WebhookOut)
def update_webhook(subscription_id: int):
    """Change a subscription's URL or events, or turn it off and on."""
    subscription = path_object("subscription_id")
    data: WebhookUpdate = request.context.json
    if data.url is not None or data.events is not None:
        update_subscription(subscription, data.url if data.url is not None else subscription.url,
                            data.events if data.events is not None else list(subscription.events))
    if data.enabled is not None:
        set_enabled(subscription, data.enabled)
    db.session.commit()
    return webhook_out(subscription)


@operation("/webhooks/<int:subscription_id>", "DELETE", tag=TAG, ok=Deleted)
def remove_webhook(subscription_id: int):
    """Delete a subscription with its deliveries."""
    delete_subscription(path_object("subscription_id"))
    db.session.commit()
    return Deleted(id=subscription_id)


@operation("/webhooks/<int:subscription_id>/secret", "POST", tag=TAG, ok=Secret)
def rotate_webhook_secret(subscription_id: int):
    """Replace the signing secret; the answer holds the new one, shown this once."""
    secret = rotate_secret(path_object("subscription_id"))
    db.session.commit()
    return Secret(id=subscription_id, secret=secret)


@operation("/webhooks/<int:subscription_id>/deliveries", tag=TAG, ok=DeliveryList)
def list_deliveries(subscription_id: int):
    """The subscription's latest deliveries with their outcome."""
    return DeliveryList(items=[delivery_out(d) for d in recent_deliveries(path_object("subscription_id"))])


@operation("/webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/replay", "POST", tag=TAG,
           ok=DeliveryOut, status=202)
def replay_delivery(subscription_id: int, delivery_id: int):
    """Send a delivery again now, with a fresh 24-hour retry window."""
    delivery = path_object("delivery_id")
    if delivery.subscription_id != subscription_id:
        raise ApiProblem(404, "There is no such object in this workspace.")
    replay(delivery)
    db.session.commit()
    return delivery_out(delivery), 202
