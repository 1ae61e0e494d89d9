"""The audit log across every workspace, for platform admins."""
from __future__ import annotations

from sqlalchemy import Select, select

from extensions import db
from models import AuditEvent
from models.tenancy import unscoped
from services.audit import filtered


def all_events(tenant_id: int | None = None, **filters) -> Select:
    """Every entry (or one workspace's), newest first; run it inside `unscoped()`."""
    stmt = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if tenant_id is not None:
        stmt = stmt.where(AuditEvent.tenant_id == tenant_id)
    return filtered(stmt, **filters)


def all_action_names() -> list[str]:
    """Every action the log holds."""
    with unscoped():
        return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
