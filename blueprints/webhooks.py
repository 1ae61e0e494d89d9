"""Inbound webhooks: the URL token picks the tenant, verification comes before parsing, answers are fast.

Deliveries (POST) are answered by blueprints.webhook_intake before Flask's request machinery; these
routes carry the same handlers for URL building and any server that calls the app without the
intake in front. The subscription handshake (GET) is an ordinary view.
"""
from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, abort, request
from sqlalchemy import Row

from blueprints.webhook_intake import cloud_delivery, find_channel, gateway_delivery
from extensions import csrf, limiter
from models import Channel
from models.tenancy import tenant_scope
from services.channels import capabilities_for
from services.crypto import token_digest

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)
limiter.exempt(bp)


@contextmanager
def channel_scope(token: str, capability: str, *columns) -> Iterator[Row]:
    """Enter the scope of the tenant owning this URL token and yield its channel's `columns`; 404 otherwise.

    Each route serves the providers with the `capability` its protocol belongs to (a Capabilities flag).
    """
    channel = find_channel(token_digest(token), columns)
    if channel is None or not getattr(capabilities_for(channel.kind), capability):
        abort(404)
    with tenant_scope(channel.tenant_id):
        yield channel


@bp.get("/cloud/<token>")
def cloud_verify(token: str):
    """Meta's subscription handshake: echo the challenge when mode and verify token match."""
    with channel_scope(token, "manual_webhook", Channel.verify_token) as channel:
        expected = channel.verify_token or ""
        given = request.args.get("hub.verify_token", "")
        if request.args.get("hub.mode") != "subscribe" or not hmac.compare_digest(given.encode(), expected.encode()):
            return "verification failed", 403, {"Content-Type": "text/plain"}
        return request.args.get("hub.challenge", ""), 200, {"Content-Type": "text/plain"}


@bp.post("/cloud/<token>")
def cloud_event(token: str):
    """A Cloud API delivery (see blueprints.webhook_intake.cloud_delivery)."""
    return cloud_delivery(request, token)


@bp.post("/gateway/<token>")
def gateway_event(token: str):
    """A gateway delivery (see blueprints.webhook_intake.gateway_delivery)."""
    return gateway_delivery(request, token)
