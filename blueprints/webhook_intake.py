"""Provider deliveries, answered before Flask's request machinery runs.

The POST routes of the webhooks blueprint are the path a burst of deliveries (a broadcast's replies)
hits all at once, so `WebhookIntake` wraps the app's WSGI callable and answers them itself inside an
app context: no session cookie, login, CSRF, rate limit or page hooks, which a provider's delivery
never uses. The blueprint keeps the same routes (URL building, and the handshake GET) and calls the
same handlers.

Each process keeps what it needs of a channel it has served (its tenant, id, kind and the value that
checks a delivery) keyed by the URL token's digest, so a delivery costs one INSERT ... SELECT that
stores the body only while the channel is still exactly as cached, and one Redis SET while the
tenant's drain job is busy. Nothing here calls a provider.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from flask import Flask, current_app
from sqlalchemy import Row, select
from werkzeug.exceptions import HTTPException, abort
from werkzeug.wrappers import Request, Response

from extensions import db
from models import Channel
from models.tenancy import TenantHints, tenant_scope
from models.types import decrypt
from services.channels import capabilities_for
from services.crypto import token_digest
from services.webhook_events import GUARD_COLUMNS, store_event_if_current
from whatsapp.signature import verify_signature

log = logging.getLogger(__name__)

# Tenant of each URL token digest this process has served (only digests that matched a channel).
_TENANTS = TenantHints(Channel.webhook_token_digest)
_TENANT_CACHE_MAX = _TENANTS.limit


def _channel_row(digest: str, columns: tuple) -> Row | None:
    """The channel with this token digest in the current tenant's scope: id, tenant, kind and `columns`."""
    stmt = select(Channel.id, Channel.tenant_id, Channel.kind, *columns).where(Channel.webhook_token_digest == digest)
    return db.session.execute(stmt).first()


def find_channel(digest: str, columns: tuple) -> Row | None:
    """The channel a URL token digest names, read in its tenant's scope; None when there is none."""
    return _TENANTS.find(digest, lambda: _channel_row(digest, columns))


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


def _raw_body(request: Request) -> bytes:
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
        row = find_channel(digest, (GUARD_COLUMNS[guard].label("stored"),))
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


def cloud_delivery(request: Request, token: str) -> tuple[str, int]:
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

    return _accept(token, "manual_webhook", "app_secret", lambda: _raw_body(request), check)


def gateway_delivery(request: Request, token: str) -> tuple[str, int]:
    """A gateway delivery: the unguessable URL token picks the tenant, the instance must be theirs."""
    received: dict = {}

    def body() -> bytes:
        raw = _raw_body(request)
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


HANDLERS: dict[str, Callable[[Request, str], tuple[str, int]]] = {
    "cloud": cloud_delivery, "gateway": gateway_delivery,
}


class WebhookIntake:
    """WSGI middleware: POST /webhooks/<cloud|gateway>/<token> is answered here, the rest by `wsgi_app`."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable):
        if environ.get("REQUEST_METHOD") == "POST":
            parts = environ.get("PATH_INFO", "").split("/")
            if len(parts) == 4 and parts[1] == "webhooks" and parts[2] in HANDLERS and parts[3]:
                return self._answer(HANDLERS[parts[2]], parts[3], environ, start_response)
        return self.wsgi_app(environ, start_response)

    def _answer(self, handler, token: str, environ: dict, start_response: Callable):
        request = Request(environ)
        with self.app.app_context():
            try:
                text, status = handler(request, token)
                response = Response(text, status, content_type="text/plain; charset=utf-8")
            except HTTPException as exc:
                response = Response(exc.description or exc.name, exc.code, content_type="text/plain; charset=utf-8")
            except Exception:
                propagate = self.app.config.get("PROPAGATE_EXCEPTIONS")
                if propagate or (propagate is None and (self.app.testing or self.app.debug)):
                    raise  # as Flask does: tests and the debugger see the error itself
                log.exception("webhook delivery failed")  # the app context's teardown rolls back
                response = Response("internal error", 500, content_type="text/plain; charset=utf-8")
        return response(environ, start_response)
