"""Workspace API keys: made (the key shown once), listed, revoked, and found again by the digest of a bearer key."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from extensions import db
from models import ApiKey, Tenant
from models.base import utcnow
from models.tenancy import TenantHints, tenant_scope
from services.audit import record
from services.crypto import new_token, token_digest
from services.errors import Invalid

# Workspace of each key digest this process has served.
_TENANTS = TenantHints(ApiKey.key_digest)
# `last_used_at` is written at most this often per key: a busy key must not turn every read into a write.
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyHolder:
    """Who a valid bearer key acts for: its workspace and the key's id, name and scopes."""

    tenant_id: int
    key_id: int
    name: str
    scopes: tuple[str, ...]
    suspended: bool = False  # the workspace is suspended (the key still names it; the API refuses it)


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


def _key_row(digest: str):
    """The key with this digest in the workspace in scope, with the workspace's status: one statement."""
    stmt = (select(ApiKey.tenant_id, ApiKey.id, ApiKey.name, ApiKey.scopes, ApiKey.last_used_at, ApiKey.revoked_at,
                   Tenant.status).join(Tenant, Tenant.id == ApiKey.tenant_id).where(ApiKey.key_digest == digest))
    return db.session.execute(stmt).first()


def key_holder(bearer: str) -> KeyHolder | None:
    """The workspace and key a bearer key stands for, or None for an unknown or revoked key.

    The digest finds the workspace (the one sanctioned cross-tenant lookup, remembered per process as a hint),
    then the key and its workspace's status are read in that workspace's scope, afresh on every request: a
    revoked key or a suspended workspace is refused from the next request on. A suspended workspace's keys
    still resolve: the caller refuses them with its own answer.
    """
    if not bearer or not bearer.startswith(ApiKey.PREFIX) or len(bearer) > 100:
        return None
    digest = token_digest(bearer)
    row = _TENANTS.find(digest, lambda: _key_row(digest))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        with tenant_scope(row.tenant_id):
            db.session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
            db.session.commit()
    return KeyHolder(row.tenant_id, row.id, row.name, tuple(row.scopes.split()), row.status == Tenant.SUSPENDED)
