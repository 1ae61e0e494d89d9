"""Admin and audit tests reuse the fake Graph API and gateway of the channel tests, and add a platform admin."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent
from models.tenancy import unscoped
from tests.channels.conftest import (
    APP_SECRET,
    GATEWAY_KEY,
    PHONE_ID,
    TOKEN,
    WABA_ID,
    app_overrides,
    cloud_credentials,
    cloud_tenant,
    gateway,
    graph,
)


@pytest.fixture
def admin_user(create_user):
    """A platform admin (in its own workspace, as `flask create-admin` makes one)."""
    return create_user(email="root@example.com", tenant_name="Platform administration", is_admin=True)


@pytest.fixture
def admin_client(app, admin_user, login):
    """A test client logged in as the platform admin."""
    return login(admin_user, test_client=app.test_client())


@pytest.fixture
def audit_entries(app):
    """Every audit entry (all workspaces and the platform's), oldest first, as plain dicts."""

    def read(action: str | None = None) -> list[dict]:
        with app.app_context(), unscoped():
            stmt = select(AuditEvent).order_by(AuditEvent.id)
            if action:
                stmt = stmt.where(AuditEvent.action == action)
            rows = db.session.scalars(stmt).all()
            return [{c.key: getattr(row, c.key) for c in AuditEvent.__table__.columns} for row in rows]

    return read
