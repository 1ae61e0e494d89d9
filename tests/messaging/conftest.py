"""Outbox tests reuse the fake Graph API / gateway fixtures and add connected tenants."""
from __future__ import annotations

import pytest

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
def cloud_connected(client, cloud_tenant):
    """A Cloud API tenant whose credentials passed "Test connection"."""
    assert client.post("/settings/whatsapp/cloud/test").status_code == 303
    return cloud_tenant


@pytest.fixture
def sandbox_connected(app, client, create_user, login, run_jobs):
    """A tenant linked to the sandbox (scan processed)."""
    from tests.channels.helpers import channel_of

    user = create_user(tenant_name="Sandbox Shop")
    login(user)
    assert client.post("/settings/whatsapp/sandbox").status_code == 303
    app.test_client().post(f"/sandbox/{channel_of(app, user.tenant_id).instance_name}/scan")
    run_jobs()
    assert channel_of(app, user.tenant_id).state == "connected"
    return user
