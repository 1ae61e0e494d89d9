"""A suspended workspace's stored webhook events wait: the stale-event sweep leaves them alone, and reinstating
the workspace processes them without waiting for a sweep."""
from __future__ import annotations

import json
from datetime import timedelta

from extensions import db
from models import WebhookEvent
from models.base import utcnow
from services.channels import ensure_channel, set_state


def _stale_event(in_tenant, tenant_id: int) -> int:
    """A stored event whose job was lost long enough ago for the sweep to want it."""
    with in_tenant(tenant_id):
        channel = ensure_channel("sandbox")
        set_state(channel, "connected")
        event = WebhookEvent(channel_id=channel.id, source="sandbox", body=json.dumps({"events": []}),
                             received_at=utcnow() - timedelta(minutes=10))
        db.session.add(event)
        db.session.flush()
        return event.id


def _processed(in_tenant, tenant_id: int, event_id: int) -> bool:
    with in_tenant(tenant_id):
        return db.session.get(WebhookEvent, event_id).processed_at is not None


def test_the_sweep_skips_suspended_workspaces_and_reinstating_processes_their_backlog(
        app, create_user, in_tenant, admin_client, run_jobs):
    from jobs.webhooks import requeue_stale_events

    active, suspended = create_user(), create_user()
    kept = _stale_event(in_tenant, active.tenant_id)
    waiting = _stale_event(in_tenant, suspended.tenant_id)
    assert admin_client.post(f"/admin/tenants/{suspended.tenant_id}/suspend").status_code == 303
    run_jobs()  # nothing left over from the set-up

    # Only the active workspace's event is re-queued, sweep after sweep.
    assert requeue_stale_events() == 1
    assert run_jobs() == 1
    assert _processed(in_tenant, active.tenant_id, kept)
    assert requeue_stale_events() == 0 and run_jobs() == 0
    assert not _processed(in_tenant, suspended.tenant_id, waiting)

    # Reinstated: the backlog is processed by the drain enqueued with it, before any sweep runs.
    assert admin_client.post(f"/admin/tenants/{suspended.tenant_id}/unsuspend").status_code == 303
    assert run_jobs() >= 1
    assert _processed(in_tenant, suspended.tenant_id, waiting)
    assert requeue_stale_events() == 0
