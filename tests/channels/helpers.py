"""Reading a tenant's channel and messages in tests."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Channel, Contact, Message, WebhookEvent
from models.tenancy import tenant_scope


def channel_of(app, tenant_id: int) -> Channel | None:
    """The tenant's channel, detached with its attributes loaded."""
    with app.app_context(), tenant_scope(tenant_id):
        channel = db.session.scalar(select(Channel))
        if channel is not None:
            for attr in ("webhook_token", "verify_token", "access_token", "app_secret", "instance_token"):
                getattr(channel, attr)
            db.session.expunge(channel)
        return channel


def rows_of(app, tenant_id: int, model) -> list:
    """Every row of `model` for a tenant, detached."""
    with app.app_context(), tenant_scope(tenant_id):
        rows = db.session.scalars(select(model).order_by(model.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def messages_of(app, tenant_id):
    return rows_of(app, tenant_id, Message)


def contacts_of(app, tenant_id):
    return rows_of(app, tenant_id, Contact)


def events_of(app, tenant_id):
    return rows_of(app, tenant_id, WebhookEvent)
