"""Inbound webhooks: the URL token picks the tenant, verification comes before parsing, answers are fast.

Nothing here calls a provider: the raw body is stored and a job processes it.
"""
from __future__ import annotations

import hmac
import json
import logging
from contextlib import contextmanager
from typing import Iterator

from flask import Blueprint, abort, current_app, request
from sqlalchemy import select

from extensions import csrf, db, limiter
from jobs.context import enqueue_after_commit
from models import Channel, WebhookEvent
from models.tenancy import lookup_tenant_id, tenant_scope
from services.crypto import token_digest
from whatsapp.signature import verify_signature

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)
limiter.exempt(bp)
log = logging.getLogger(__name__)


@contextmanager
def channel_scope(token: str, kind: str) -> Iterator[Channel]:
    """Enter the scope of the tenant owning this URL token and yield its channel; 404 otherwise."""
    digest = token_digest(token)
    tenant_id = lookup_tenant_id(Channel.webhook_token_digest, digest)
    if tenant_id is None:
        abort(404)
    with tenant_scope(tenant_id):
        channel = db.session.scalar(select(Channel).where(Channel.webhook_token_digest == digest))
        if channel is None or channel.kind != kind:
            abort(404)
        yield channel


def _raw_body() -> bytes:
    """The exact bytes received, refusing bodies over the webhook limit (413)."""
    limit = current_app.config["WEBHOOK_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        abort(413)
    request.max_content_length = limit
    return request.get_data(cache=True)


def _json_object(raw: bytes) -> dict:
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        abort(400, "malformed JSON")
    if not isinstance(payload, dict):
        abort(400, "expected a JSON object")
    return payload


def _store(channel: Channel, raw: bytes) -> tuple[str, int]:
    from jobs.webhooks import process_webhook_event

    event = WebhookEvent(channel_id=channel.id, source=channel.kind, body=raw.decode("utf-8"))
    db.session.add(event)
    db.session.flush()
    enqueue_after_commit(process_webhook_event, channel.tenant_id, event.id)
    db.session.commit()
    return "OK", 200


@bp.get("/cloud/<token>")
def cloud_verify(token: str):
    """Meta's subscription handshake: echo the challenge when mode and verify token match."""
    with channel_scope(token, Channel.CLOUD) as channel:
        expected = channel.verify_token or ""
        given = request.args.get("hub.verify_token", "")
        if request.args.get("hub.mode") != "subscribe" or not hmac.compare_digest(given.encode(), expected.encode()):
            return "verification failed", 403, {"Content-Type": "text/plain"}
        return request.args.get("hub.challenge", ""), 200, {"Content-Type": "text/plain"}


@bp.post("/cloud/<token>")
def cloud_event(token: str):
    """A Cloud API delivery: signature over the raw body with the tenant's app secret, then store."""
    with channel_scope(token, Channel.CLOUD) as channel:
        raw = _raw_body()
        signature = request.headers.get("X-Hub-Signature-256")
        if not signature:
            return "missing signature", 401
        if not channel.app_secret or not verify_signature(channel.app_secret, raw, signature):
            log.warning("cloud webhook with a bad signature refused (tenant %s)", channel.tenant_id)
            return "bad signature", 403
        _json_object(raw)
        return _store(channel, raw)


@bp.post("/gateway/<token>")
def gateway_event(token: str):
    """A gateway delivery: the unguessable URL token picks the tenant, the instance must be theirs."""
    with channel_scope(token, Channel.GATEWAY) as channel:
        raw = _raw_body()
        payload = _json_object(raw)
        if payload.get("instance") != channel.instance_name:
            log.warning("gateway webhook for another instance refused (tenant %s)", channel.tenant_id)
            return "instance mismatch", 403
        return _store(channel, raw)
