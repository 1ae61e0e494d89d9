"""Workspace API keys: made (the key shown once), listed, revoked, and found again by the digest of a bearer key."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from extensions import db
from models import ApiKey
from models.base import utcnow
from models.tenancy import lookup_tenant_id, tenant_scope
from services.audit import record
from services.crypto import new_token, token_digest
from services.errors import Invalid

# `last_used_at` is written at most this often per key: a busy key must not turn every read into a write.
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyHolder:
    """Who a valid bearer key acts for: its workspace and the key's id, name and scopes."""

    tenant_id: int
    key_id: int
    name: str
    scopes: tuple[str, ...]


def create_key(name: str, scopes: list[str], created_by_id: int | None) -> tuple[ApiKey, str]:
    """Make a key for the workspace in scope; returns the row and the key itself (shown once, never stored)."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "Name the key (what uses it)."
    elif len(name) > ApiKey.NAME_MAX:
        errors["name"] = f"Keep the name under {ApiKey.NAME_MAX} characters."
    wanted = [scope for scope in ApiKey.SCOPES if scope in (scopes or [])]
    if not wanted or set(scopes) - set(ApiKey.SCOPES):
        errors["scopes"] = "Choose read, or read and write."
    if errors:
        raise Invalid(errors)
    # A write key reads too: what it changes it must be able to look at.
    if ApiKey.WRITE in wanted and ApiKey.READ not in wanted:
        wanted.insert(0, ApiKey.READ)
    secret = ApiKey.PREFIX + new_token()
    key = ApiKey(name=name, scopes=" ".join(wanted), key_digest=token_digest(secret), key_hint=secret[-4:],
                 created_by_id=created_by_id)
    db.session.add(key)
    db.session.flush()
    record("api_key.created", target=key, changes={"name": name, "scopes": wanted})
    return key, secret


def list_keys() -> list[ApiKey]:
    """The workspace's keys, live ones first, newest first."""
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())))


def revoke_key(key: ApiKey) -> None:
    """Stop `key` working from now on (kept, greyed, so the log still names it)."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.session.flush()
        record("api_key.revoked", target=key, changes={"name": key.name})


def key_holder(bearer: str) -> KeyHolder | None:
    """The workspace and key a bearer key stands for, or None for an unknown or revoked key.

    The digest finds the workspace (the one sanctioned cross-tenant lookup), then the key is read in that
    workspace's scope like anything else. A suspended workspace's keys still resolve: the caller refuses them
    with its own answer.
    """
    if not bearer or not bearer.startswith(ApiKey.PREFIX) or len(bearer) > 100:
        return None
    digest = token_digest(bearer)
    tenant_id = lookup_tenant_id(ApiKey.key_digest, digest)
    if tenant_id is None:
        return None
    with tenant_scope(tenant_id):
        key = db.session.scalar(select(ApiKey).where(ApiKey.key_digest == digest))
        if key is None or key.revoked_at is not None:
            return None
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
            db.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
            db.session.commit()
        return KeyHolder(tenant_id, key.id, key.name, tuple(key.scope_list))

