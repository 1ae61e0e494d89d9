"""Inbound webhooks: the URL token picks the tenant, verification comes before parsing, answers are fast.

Nothing here calls a provider: the raw body is committed and a job on the inbound queue processes it.
This is the path a burst of deliveries (a broadcast's replies) hits all at once. Each process keeps
what it needs of a channel it has served (its tenant, id, kind and the secret that checks a delivery)
keyed by the URL token's digest, so a delivery costs one INSERT ... SELECT that stores the body only
while the channel is still exactly as cached, and one Redis SET while the tenant's drain job is busy.
"""
from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from flask import Blueprint, abort, current_app, request
from sqlalchemy import Row, select

from extensions import csrf, db, limiter
from models import Channel
from models.tenancy import lookup_tenant_id, tenant_scope
from models.types import decrypt
from services.channels import capabilities_for
from services.crypto import token_digest
from services.webhook_events import GUARD_COLUMNS, store_event_if_current
from whatsapp.signature import verify_signature

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)


@limiter.request_filter
def _not_limited() -> bool:
    # Providers' deliveries are never rate limited; a request filter skips the limiter before it
    # does any work, where exempting the blueprint still costs each delivery the limit lookup.
    return request.blueprint == "webhooks"


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


@dataclass(frozen=True)
class ChannelKeys:
    """What a delivery needs of its channel: who owns it, and the value that checks the delivery."""

    id: int
    tenant_id: int
    kind: str
    guard: str  # the column checked again when storing (services.webhook_events.GUARD_COLUMNS)
    stored: str | None  # that column as stored (ciphertext for a secret)
    value: str | None  # and as the check uses it (decrypted)


_KEYS_OF_DIGEST: dict[str, ChannelKeys] = {}


def _channel_keys(digest: str, capability: str, guard: str, *, fresh: bool) -> ChannelKeys | None:
    """The channel keys for a URL token digest: cached unless `fresh`; None for no such channel."""
    keys = None if fresh else _KEYS_OF_DIGEST.get(digest)
    if keys is None:
        row = _find_channel(digest, (GUARD_COLUMNS[guard].label("stored"),))
        if row is None or not getattr(capabilities_for(row.kind), capability):
            _KEYS_OF_DIGEST.pop(digest, None)
            return None
        value = decrypt(row.stored) if row.stored is not None and guard == "app_secret" else row.stored
        keys = ChannelKeys(row.id, row.tenant_id, row.kind, guard, row.stored, value)
        if len(_KEYS_OF_DIGEST) >= _TENANT_CACHE_MAX:
            _KEYS_OF_DIGEST.clear()
        _KEYS_OF_DIGEST[digest] = keys
    return keys


def _accept(token: str, capability: str, guard: str, body: Callable[[], bytes],
            check: Callable[[ChannelKeys, bytes], tuple | None]) -> tuple:
    """Check and store one delivery: with the cached channel first, then looked up afresh.

    `body` reads the delivery (once, after the token named a channel); `check` answers a refusal
    (status tuple) or None. A refusal or a failed store with cached keys
    may only mean the channel changed (new secret, new URL, unlinked), so both are tried once more
    with keys read from the database before the answer is final.
    """
    digest = token_digest(token)
    raw = None
    for fresh in (digest not in _KEYS_OF_DIGEST, True):
        keys = _channel_keys(digest, capability, guard, fresh=fresh)
        if keys is None:
            abort(404)
        if raw is None:
            raw = body()
        refusal = check(keys, raw)
        if refusal is not None:
            if fresh:
                return refusal
            continue
        with tenant_scope(keys.tenant_id):
            stored = store_event_if_current(keys.id, digest, guard, keys.stored, keys.kind, raw.decode("utf-8"))
            if stored is not None:
                db.session.commit()
                return "OK", 200
            db.session.rollback()
        _KEYS_OF_DIGEST.pop(digest, None)
    # The channel changed between reading it and storing: the provider retries.
    return "channel changed, retry", 503


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
    signature = request.headers.get("X-Hub-Signature-256")

    def check(keys: ChannelKeys, raw: bytes) -> tuple | None:
        if not signature:
            return "missing signature", 401
        if not keys.value or not verify_signature(keys.value, raw, signature):
            log.warning("cloud webhook with a bad signature refused (tenant %s)", keys.tenant_id)
            return "bad signature", 403
        _json_object(raw)
        return None

    return _accept(token, "manual_webhook", "app_secret", _raw_body, check)


@bp.post("/gateway/<token>")
def gateway_event(token: str):
    """A gateway delivery: the unguessable URL token picks the tenant, the instance must be theirs."""
    received: dict = {}

    def body() -> bytes:
        raw = _raw_body()
        payload = received["payload"] = _json_object(raw)
        if "apikey" in payload:
            # Evolution copies the instance token into every body; a secret is never stored as received.
            payload.pop("apikey")
            raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return raw

    def check(keys: ChannelKeys, _raw: bytes) -> tuple | None:
        if received["payload"].get("instance") != keys.value:
            log.warning("gateway webhook for another instance refused (tenant %s)", keys.tenant_id)
            return "instance mismatch", 403
        return None

    return _accept(token, "instance_lifecycle", "instance_name", body, check)
