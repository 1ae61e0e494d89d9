"""Whether a workspace is suspended: its people cannot log in, its webhooks wait unprocessed, nothing is sent."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Tenant

SUSPENDED_REASON = "Not sent: this account is suspended."


def tenant_suspended(tenant_id: int) -> bool:
    """True while a platform admin has the workspace suspended."""
    return db.session.scalar(select(Tenant.status).where(Tenant.id == tenant_id)) == Tenant.SUSPENDED
