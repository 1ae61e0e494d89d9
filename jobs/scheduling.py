"""Scheduled-message jobs: the timed job for one row, and the sweep that queues whatever is due."""
from __future__ import annotations

from extensions import db
from jobs.context import app_job, tenant_job
from models import ScheduledMessage
from models.base import utcnow
from models.tenancy import each_tenant
from services import scheduling

SWEEP_ROUNDS = 20  # batches per tenant per sweep; what is left waits a minute for the next sweep


@tenant_job
def send_scheduled(tenant_id: int, scheduled_id: int) -> str:
    """At the due time: queue one scheduled message if it is due and still scheduled (a no-op otherwise)."""
    outcome = scheduling.send_scheduled(scheduled_id)
    db.session.commit()
    return str(outcome)


@app_job
def queue_due_messages() -> dict[str, int]:
    """Every minute: queue each tenant's due messages no timed job queued (Redis lost it, no worker ran it)."""
    now = utcnow()
    totals: dict[str, int] = {}
    for _tenant_id in each_tenant(ScheduledMessage, *scheduling.due_criteria(now)):
        for _round in range(SWEEP_ROUNDS):
            counts = scheduling.queue_due(now, scheduling.SWEEP_BATCH)
            db.session.commit()
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            if sum(counts.values()) < scheduling.SWEEP_BATCH:
                break
    return totals
