"""Send jobs: thin wrappers that run the outbox's delivery policy as the right tenant."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from extensions import db
from jobs.context import app_job, tenant_job
from models import Message
from models.base import utcnow
from models.tenancy import each_tenant
from services.outbox.delivery import deliver, run_bulk
from services.outbox.recording import reconcile_stuck, stuck_criteria
from services.queueing import enqueue_now, send_queue

SEND_JOB = "jobs.sending.send_message"


@tenant_job
def send_message(tenant_id: int, message_id: int, reserved: bool = False) -> str:
    """Deliver one queued message (and any near companions); returns what happened to it."""
    return deliver(tenant_id, message_id, reserved)


@tenant_job
def send_bulk(tenant_id: int) -> str:
    """One run of the batch sender: the tenant's queued bulk texts and templates, many in flight at once."""
    return run_bulk(tenant_id)


@app_job
def reconcile_outbox() -> dict[str, int]:
    """Finish rows a crash left in `sending`, and re-enqueue queued rows whose job Redis lost."""
    now = utcnow()
    counts = {"reconciled": 0, "requeued": 0}
    for tenant_id in each_tenant(Message, *stuck_criteria(now)):
        counts["reconciled"] += reconcile_stuck(tenant_id, now)
    due = (Message.status == "queued", Message.created_at < now - timedelta(minutes=2),
           Message.next_attempt_at.is_(None) | (Message.next_attempt_at < now - timedelta(minutes=1)))
    for tenant_id in each_tenant(Message, *due):
        for message_id, origin in db.session.execute(select(Message.id, Message.origin).where(*due).limit(1000)):
            enqueue_now(SEND_JOB, tenant_id, message_id, queue_name=send_queue(origin))
            counts["requeued"] += 1
    return counts
