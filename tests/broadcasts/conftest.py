"""Broadcast tests reuse the connected tenants of the outbox tests and add an audience builder."""
from __future__ import annotations

import pytest

from tests.messaging.conftest import (
    APP_SECRET,
    PHONE_ID,
    WABA_ID,
    app_overrides,
    cloud_connected,
    cloud_credentials,
    cloud_tenant,
    gateway,
    graph,
    sandbox_connected,
)


@pytest.fixture
def feed_until_done(app, run_jobs):
    """Run feeding rounds and the send jobs they queue until the broadcast has nothing left (no scheduler needed)."""
    from jobs.broadcasts import feed_broadcast

    def run(tenant_id: int, broadcast_id: int, rounds: int = 50) -> str:
        outcome = ""
        for _ in range(rounds):
            outcome = feed_broadcast(tenant_id, broadcast_id)
            run_jobs()
            if outcome != "more":
                outcome = feed_broadcast(tenant_id, broadcast_id)
                if outcome != "more":
                    return outcome
        return outcome

    return run
