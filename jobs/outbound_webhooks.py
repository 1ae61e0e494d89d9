"""Outbound webhook jobs: one attempt of one delivery, and the sweep that re-asks for attempts whose job was lost."""
from __future__ import annotations

from extensions import db
from jobs.context import app_job, tenant_job
from models import WebhookDelivery
from models.base import utcnow
from models.tenancy import each_tenant
from services.outbound_webhooks import sending
from services.outbound_webhooks.deliveries import enqueue_attempt

SWEEP_BATCH = 500  # per workspace per sweep; the rest waits a minute


@tenant_job
def deliver(tenant_id: int, delivery_id: int) -> str:
    """Make the delivery's due attempt: claim and commit, POST with no transaction open, then settle and commit."""
    claim = sending.claim(delivery_id)
    db.session.commit()
    if claim is None:
        return "not due"
    result = sending.post(claim)
    outcome = sending.settle(claim, result)
    db.session.commit()
    return outcome


@app_job
def sweep_deliveries() -> int:
    """Every minute: ask again for attempts that are overdue (Redis lost the job, or a worker died mid-attempt)."""
    now, count = utcnow(), 0
    for _tenant_id in each_tenant(WebhookDelivery, *sending.due_criteria(now)):
        for delivery_id in sending.overdue_ids(now, SWEEP_BATCH):
            enqueue_attempt(delivery_id)
            count += 1
        db.session.commit()  # the requests go out after commit
    return count
