"""Outbound webhooks: a workspace's HTTPS URLs receive its domain events, signed, retried for 24 hours, logged.

The service API (what the pages use, and what a REST API exposes in a few lines):
- subscriptions: `list_subscriptions`, `create_subscription` (returns the secret once), `update_subscription`,
  `set_enabled`, `rotate_secret` (returns the new secret once), `delete_subscription`; refusals are `Invalid`;
- deliveries: `recent_deliveries`, `attempts_of`, `replay`; `send_to_url` for an ad-hoc signed POST;
- consumer: `on_event`, registered for the domain events a subscription can choose (EVENTS);
- sending: one attempt as claim → post → settle (jobs.outbound_webhooks runs it); signing: the headers;
- addresses and transport: the SSRF guard at save time and at connect time.
"""
from services.outbound_webhooks.deliveries import attempts_of, recent_deliveries, replay, send_to_url
from services.outbound_webhooks.subscriptions import (
    EVENTS,
    create_subscription,
    delete_subscription,
    list_subscriptions,
    rotate_secret,
    set_enabled,
    update_subscription,
)

__all__ = ["EVENTS", "attempts_of", "create_subscription", "delete_subscription", "list_subscriptions",
           "recent_deliveries", "replay", "rotate_secret", "send_to_url", "set_enabled", "update_subscription"]
