"""Inbox fixtures: the fake Graph API and gateway of tests/channels, logged-in tenants, and message builders."""
from __future__ import annotations

from datetime import timedelta

import pytest

from extensions import db
from models import Message
from models.base import utcnow
from tests.channels.conftest import app_overrides, cloud_credentials, cloud_tenant, gateway, graph
from tests.channels.helpers import channel_of


@pytest.fixture
def owner(create_user, login):
    """A logged-in tenant with no WhatsApp linked."""
    user = create_user(tenant_name="Inbox Co")
    login(user)
    return user


@pytest.fixture
def sandbox_owner(app, client, create_user, login, run_jobs):
    """A logged-in tenant whose sandbox is linked (scanned and processed)."""
    user = create_user(tenant_name="Sandbox Shop")
    login(user)
    assert client.post("/settings/whatsapp/sandbox").status_code == 303
    phone = "/sandbox/" + channel_of(app, user.tenant_id).instance_name
    assert app.test_client().post(phone + "/scan").status_code == 303
    run_jobs()
    assert channel_of(app, user.tenant_id).state == "connected"
    user.phone_page = phone
    return user


@pytest.fixture
def connected_cloud(client, cloud_tenant):
    """A Cloud API tenant connected against the fake Graph API."""
    response = client.post("/settings/whatsapp/cloud/test")
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:500]
    return cloud_tenant


def add_message(contact, direction: str = "in", body: str | None = "hello", *, minutes_ago: float = 0,
                **fields) -> Message:
    """A message in the contact's thread, `minutes_ago` old; keeps the contact's inbox columns in step."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    defaults = {"type": "text", "status": "received" if direction == "in" else "sent"}
    message = Message(contact_id=contact.id, direction=direction, body=body, created_at=at, updated_at=at,
                      **{**defaults, **fields})
    db.session.add(message)
    if direction == "in" and (contact.last_inbound_at is None or contact.last_inbound_at < at):
        contact.last_inbound_at = at
    if contact.last_message_at is None or contact.last_message_at < at:
        contact.last_message_at = at
    db.session.flush()
    return message


HX = {"HX-Request": "true"}


def hx(target: str) -> dict:
    """Headers of an HTMX request swapping `target`."""
    return {**HX, "HX-Target": target}
