"""Inbound webhooks: the URL token picks the tenant, verification comes before parsing, answers are fast.

Nothing here calls a provider: the raw body is committed and a job on the inbound queue processes it.
This is the path a burst of deliveries (a broadcast's replies) hits all at once, so each request reads
only the channel columns it needs, writes one row and enqueues in one Redis round trip.
"""
from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from flask import Blueprint, abort, current_app, request
from sqlalchemy import Row, select

from extensions import csrf, db, limiter
from models import Channel
from models.tenancy import lookup_tenant_id, tenant_scope
from services.channels import capabilities_for
from services.crypto import token_digest
from services.webhook_events import store_event
from whatsapp.signature import verify_signature

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)
limiter.exempt(bp)
log = logging.getLogger(__name__)

# Tenant of each URL token digest this process has served. An entry is only a hint: the channel is
# still read in that tenant's scope by the same digest, so a stale one (URL regenerated, channel
# deleted) finds nothing and is looked up afresh. Only digests that matched a channel get in.
_TENANT_OF_DIGEST: dict[str, int] = {}
_TENANT_CACHE_MAX = 10_000


def _channel_row(digest: str, columns: tuple) -> Row | None:
    """The channel with this token digest in the current tenant's scope: id, tenant, kind and `columns`."""
    stmt = select(Channel.id, Channel.tenant_id, Channel.kind, *columns).where(Channel.webhook_token_digest == digest)
    return db.session.execute(stmt).first()


def _find_channel(digest: str, columns: tuple) -> Row | None:
    """The channel a URL token digest names, read in its tenant's scope; None when there is none."""
    tenant_id = _TENANT_OF_DIGEST.get(digest)
    if tenant_id is not None:
        with tenant_scope(tenant_id):
            row = _channel_row(digest, columns)
        if row is not None:
            return row
        _TENANT_OF_DIGEST.pop(digest, None)
    tenant_id = lookup_tenant_id(Channel.webhook_token_digest, digest)
    if tenant_id is None:
        return None
    with tenant_scope(tenant_id):
        row = _channel_row(digest, columns)
    if row is not None:
        if len(_TENANT_OF_DIGEST) >= _TENANT_CACHE_MAX:
            _TENANT_OF_DIGEST.clear()
        _TENANT_OF_DIGEST[digest] = tenant_id
    return row


@contextmanager
def channel_scope(token: str, capability: str, *columns) -> Iterator[Row]:
    """Enter the scope of the tenant owning this URL token and yield its channel's `columns`; 404 otherwise.

    Each route serves the providers with the `capability` its protocol belongs to (a Capabilities flag).
    """
    channel = _find_channel(token_digest(token), columns)
    if channel is None or not getattr(capabilities_for(channel.kind), capability):
        abort(404)
    with tenant_scope(channel.tenant_id):
        yield channel


def _read_at_most(stream: IO[bytes], size: int) -> bytes:
    """Up to `size` bytes of `stream`; fewer only when it ends first (one read may return less)."""
    chunks = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _raw_body() -> bytes:
    """The exact bytes received, refusing bodies over the webhook limit (413), chunked ones included."""
    limit = current_app.config["WEBHOOK_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        abort(413)
    # A chunked body announces no length, and werkzeug's own limit stops reading at it without
    # complaint: read one byte past the limit to tell a body of exactly the limit from a longer one.
    raw = _read_at_most(request.stream, limit + 1)
    if len(raw) > limit:
        abort(413)
    return raw


def _json_object(raw: bytes) -> dict:
    """The body as a JSON object; 400 for anything else (JSON on the wire is UTF-8, and it is stored as text)."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        abort(400, "malformed JSON")
    if not isinstance(payload, dict):
        abort(400, "expected a JSON object")
    return payload


def _store(channel: Row, raw: bytes) -> tuple[str, int]:
    """Commit the raw body (its processing is enqueued after the commit); answer 200 once it is safe."""
    store_event(channel.id, channel.kind, raw.decode("utf-8"))
    db.session.commit()
    return "OK", 200


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
    """A Cloud API delivery: signature over the raw body with the tenant's app secret, then store."""
    with channel_scope(token, "manual_webhook", Channel.app_secret) as channel:
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
    with channel_scope(token, "instance_lifecycle", Channel.instance_name) as channel:
        raw = _raw_body()
        payload = _json_object(raw)
        if payload.get("instance") != channel.instance_name:
            log.warning("gateway webhook for another instance refused (tenant %s)", channel.tenant_id)
            return "instance mismatch", 403
        if "apikey" in payload:
            # Evolution copies the instance token into every body; a secret is never stored as received.
            payload.pop("apikey")
            raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return _store(channel, raw)
