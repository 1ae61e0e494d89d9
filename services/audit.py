"""The audit log: `record()` appends who did what; nothing here (or anywhere) changes or removes an entry.

Each place an audited action happens adds one line, `record("channel.unlinked", target=channel)`. The actor
and the client address come from the request (a platform admin is recorded as such), the workspace from the
tenant in context unless named. Summaries never carry secrets: keys that look like one are dropped.
"""
from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import Select, func, insert, or_, select

from extensions import db, get_redis
from models import AuditEvent, User
from models.base import utcnow
from models.tenancy import current_tenant_id_or_none, tenant_scope
from services.text_search import ESCAPE, contains_pattern

log = logging.getLogger(__name__)
_SECRET = re.compile(r"token|secret|password|passwd|key|hash|credential|authorization|cookie", re.I)
_UNSET: Any = object()
# A burst: this many refused sign-ins for one email within the window writes one entry.
FAILED_BURST = 5
FAILED_WINDOW = timedelta(minutes=15)


def redact(changes: dict[str, Any] | None) -> dict[str, Any] | None:
    """The summary without anything that looks like a secret (by key), values shortened."""
    if not changes:
        return None
    clean = {}
    for key, value in changes.items():
        if _SECRET.search(str(key)):
            continue
        if isinstance(value, dict):
            value = redact(value)
        elif isinstance(value, str) and len(value) > 200:
            value = value[:200] + "…"
        clean[str(key)] = value
    return clean or None


def actor_of(user) -> tuple[str, int | None, str | None]:
    """How `user` appears as an actor: a platform admin or a workspace user, with the email it had."""
    return (AuditEvent.ADMIN if user.is_admin else AuditEvent.USER), user.id, user.email


def _actor() -> tuple[str, int | None, str | None]:
    """The signed-in person (admin or user), or the system when no request is behind the action."""
    if has_request_context() and g.get("audit_actor"):
        return g.audit_actor  # an API key acting (set by the API's authentication)
    if has_request_context() and current_user and current_user.is_authenticated:
        return actor_of(current_user)
    return AuditEvent.SYSTEM, None, None


def _client_ip() -> str | None:
    return (request.remote_addr or None) if has_request_context() else None


def record(action: str, *, target: Any = None, target_type: str | None = None, target_id: int | None = None,
           changes: dict[str, Any] | None = None, tenant_id: int | None = _UNSET,
           actor: tuple[str, int | None, str | None] | None = None) -> None:
    """Append one entry (flushed with the caller's transaction: an action rolled back leaves no entry).

    `target` is a model instance (its class and id are recorded); `tenant_id=None` makes a platform entry.
    """
    if target is not None:
        target_type = target_type or type(target).__tablename__
        target_id = target_id if target_id is not None else getattr(target, "id", None)
    if tenant_id is _UNSET:
        tenant_id = current_tenant_id_or_none()
        if tenant_id is None and has_request_context() and current_user and current_user.is_authenticated:
            tenant_id = current_user.tenant_id  # just signed in: the request began without a scope
    kind, actor_id, label = actor or _actor()
    statement = insert(AuditEvent).values(
        tenant_id=tenant_id, actor_kind=kind, actor_id=actor_id, actor_label=label, action=action,
        target_type=target_type, target_id=target_id, changes=redact(changes), ip=_client_ip(), created_at=utcnow())
    if tenant_id is None:
        db.session.execute(statement)
        return
    # Row-level security admits a workspace's entry only in that workspace's scope (an admin acts from its own).
    with tenant_scope(tenant_id):
        db.session.execute(statement)


def failed_sign_in(email: str) -> bool:
    """Count a refused sign-in; the FAILED_BURST-th within the window writes one entry. Returns whether it did."""
    email = (email or "").strip().lower()
    key = f"audit:failed-sign-in:{email}"
    redis = get_redis()
    try:
        count = redis.incr(key)
        if count == 1:
            redis.expire(key, int(FAILED_WINDOW.total_seconds()))
    except RedisError:
        # Redis away: the login limits fall back to memory (see the auth views); the burst goes uncounted.
        log.warning("could not count a failed sign-in: Redis is unavailable")
        return False
    if count != FAILED_BURST:
        return False
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    record("auth.failed_sign_in_burst", target_type="users", target_id=user and user.id,
           tenant_id=user and user.tenant_id,
           changes={"email": email, "failures": count, "window_minutes": int(FAILED_WINDOW.total_seconds() // 60)},
           actor=(AuditEvent.SYSTEM, None, None))
    return True


def search_events(action: str = "", actor: str = "", since=None, until=None) -> Select:
    """The workspace's entries, newest first, filtered by action prefix, actor email (or kind) and UTC dates."""
    stmt = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    return filtered(stmt, action, actor, since, until)


def filtered(stmt: Select, action: str = "", actor: str = "", since=None, until=None) -> Select:
    """`stmt` limited by the log's filters (shared by the workspace's log and the admins' log of everything)."""
    if action:
        stmt = stmt.where(AuditEvent.action.like(contains_pattern(action.strip()), escape=ESCAPE))
    if actor:
        actor = actor.strip().lower()
        stmt = stmt.where(or_(func.lower(AuditEvent.actor_label).like(contains_pattern(actor), escape=ESCAPE),
                              AuditEvent.actor_kind == actor))
    if since is not None:
        stmt = stmt.where(AuditEvent.created_at >= datetime.combine(since, time.min, UTC))
    if until is not None:
        stmt = stmt.where(AuditEvent.created_at < datetime.combine(until + timedelta(days=1), time.min, UTC))
    return stmt


def action_names() -> list[str]:
    """The actions the workspace's log holds, for the filter's suggestions."""
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
