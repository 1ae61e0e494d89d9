"""The audit log: an append-only record of who did what, in which workspace, from where."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class AuditEvent(TenantScoped, db.Model):
    """One audited action. Rows are only ever inserted (services.audit.record); nothing updates or deletes them.

    `tenant_id` is empty for platform actions that concern no workspace. On PostgreSQL the application
    role holds no UPDATE or DELETE grant on the table and a trigger refuses both (migration 0014).
    """

    __tablename__ = "audit_events"
    # No RETURNING on insert: PostgreSQL would check the new row against the read policy too, and a platform
    # entry (no workspace) is readable only by admin code.
    __tenant_table_args__ = (Index("ix_audit_events_tenant_created", "tenant_id", "created_at"),
                             {"implicit_returning": False})

    USER, ADMIN, API_KEY, SYSTEM = "user", "admin", "api_key", "system"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Nullable, unlike other tenant tables: a platform action (an admin viewing the queues) has no workspace.
    tenant_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("tenants.id", ondelete="CASCADE"),
                                                  nullable=True, index=True)
    actor_kind: Mapped[str] = mapped_column(String(20), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    # The actor's email (or key name) when it acted, so the log reads the same after the account is gone.
    actor_label: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
