"""Workflow fixtures: the inbox's linked tenants (sandbox, and a Cloud API number on the fake Graph API)."""
from __future__ import annotations

from tests.channels.conftest import app_overrides, cloud_credentials, cloud_tenant, gateway, graph
from tests.inbox.conftest import connected_cloud, owner, sandbox_owner
