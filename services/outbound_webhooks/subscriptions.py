"""A workspace's webhook subscriptions: validated, audited, secrets made here and shown once."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import WebhookSubscription
from services.audit import record
from services.errors import Invalid
from services.outbound_webhooks.addresses import RefusedAddress, check_url
from services.outbound_webhooks.signing import new_secret

# The events a subscription can choose, in the order the page lists them.
EVENTS = {
    "message.received": "Message received",
    "message.status": "Message status changed (sent, delivered, read, failed)",
    "contact.created": "Contact created",
    "contact.updated": "Contact updated",
    "deal.stage_changed": "Deal moved to another stage",
    "broadcast.finished": "Broadcast finished",
}
MAX_SUBSCRIPTIONS = 20  # per workspace: each event is copied once per subscription


def list_subscriptions() -> list[WebhookSubscription]:
    """The workspace's subscriptions, oldest first."""
    return list(db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def _clean(url: str | None, events: list[str] | None) -> tuple[str, list[str]]:
    """The URL and events to store, or Invalid naming the field at fault."""
    errors = {}
    url = (url or "").strip()
    if not url:
        errors["url"] = "Enter the URL that receives the events."
    elif len(url) > WebhookSubscription.URL_MAX:
        errors["url"] = f"Keep the URL to {WebhookSubscription.URL_MAX:,} characters or fewer."
    else:
        try:
            check_url(url)
        except RefusedAddress as exc:
            errors["url"] = str(exc)
    chosen = list(dict.fromkeys(events or []))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        errors["events"] = f"Unknown event: {', '.join(unknown)}."
    elif not chosen:
        errors["events"] = "Choose at least one event."
    if errors:
        raise Invalid(errors)
    return url, [e for e in EVENTS if e in chosen]


def create_subscription(url: str, events: list[str], created_by_id: int | None = None
                        ) -> tuple[WebhookSubscription, str]:
    """Subscribe `url` to `events`; returns the subscription and its secret, readable this once (flushes)."""
    url, events = _clean(url, events)
    count = db.session.scalar(select(func.count()).select_from(WebhookSubscription))
    if count >= MAX_SUBSCRIPTIONS:
        raise Invalid(f"A workspace can have at most {MAX_SUBSCRIPTIONS} webhooks: delete one first.")
    secret = new_secret()
    subscription = WebhookSubscription(url=url, events=events, secret=secret, enabled=True,
                                       created_by_id=created_by_id)
    db.session.add(subscription)
    db.session.flush()
    record("webhook.created", target=subscription, changes={"url": url, "events": events})
    return subscription, secret


def update_subscription(subscription: WebhookSubscription, url: str, events: list[str]) -> None:
    """Change where and what a subscription receives (deliveries still waiting go to the new URL)."""
    url, events = _clean(url, events)
    changes = {name: new for name, old, new in (("url", subscription.url, url), ("events", subscription.events, events))
               if old != new}
    subscription.url, subscription.events = url, events
    db.session.flush()
    if changes:
        record("webhook.updated", target=subscription, changes=changes)


def set_enabled(subscription: WebhookSubscription, enabled: bool) -> None:
    """Turn a subscription on or off; off, it gets no new deliveries and its waiting ones are not sent."""
    if subscription.enabled == enabled:
        return
    subscription.enabled = enabled
    db.session.flush()
    record("webhook.enabled" if enabled else "webhook.disabled", target=subscription)


def rotate_secret(subscription: WebhookSubscription) -> str:
    """A new secret for the subscription, returned this once; the old one stops signing at once."""
    secret = new_secret()
    subscription.secret = secret
    db.session.flush()
    record("webhook.secret_rotated", target=subscription)
    return secret


def delete_subscription(subscription: WebhookSubscription) -> None:
    """Delete a subscription with its deliveries and their log."""
    record("webhook.deleted", target=subscription, changes={"url": subscription.url})
    db.session.delete(subscription)
    db.session.flush()
