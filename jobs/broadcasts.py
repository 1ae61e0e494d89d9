"""Broadcast jobs: the feeder that hands recipients to the outbox, and the cron sweeps that start
scheduled broadcasts and keep sending ones going after Redis lost their jobs."""
from __future__ import annotations

from sqlalchemy import select

from core.enums import BroadcastStatus, RecipientState
from extensions import db, get_redis
from jobs.context import app_job, tenant_job
from models import Broadcast, BroadcastRecipient
from models.base import utcnow
from models.tenancy import each_tenant
from services.broadcasts.feeder import feed, owns_feeding
from services.broadcasts.lifecycle import complete_if_done, feeder_key, move_status, settle, start, start_feeder
from services.errors import Invalid
from services.queueing import BULK_QUEUE, enqueue_now
from services.quotas import QuotaExceeded

FEED_JOB = "jobs.broadcasts.feed_broadcast"
BULK_JOB = "jobs.sending.send_bulk"
FEED_AGAIN_AFTER = 0.25  # seconds; the worker moves on meanwhile


@tenant_job
def feed_broadcast(tenant_id: int, broadcast_id: int, token: str | None = None) -> str:
    """One feeding round; enqueues the next round while recipients are left and the broadcast is sending."""
    if not owns_feeding(tenant_id, broadcast_id, token):
        return "superseded"
    outcome = feed(broadcast_id)
    if outcome == "more":
        enqueue_now(FEED_JOB, tenant_id, broadcast_id, token, delay=FEED_AGAIN_AFTER, queue_name=BULK_QUEUE)
        # The batch sender's chain lives in Redis: a run per round restarts it if Redis lost it.
        enqueue_now(BULK_JOB, tenant_id, queue_name=BULK_QUEUE)
    return outcome


@app_job
def start_due_broadcasts() -> dict[str, int]:
    """Start scheduled broadcasts whose moment has come (the schedule lives in the database, not in Redis)."""
    now = utcnow()
    due = (Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.scheduled_at <= now)
    started = 0
    for _tenant_id in each_tenant(Broadcast, *due):
        for broadcast in db.session.scalars(select(Broadcast).where(*due).order_by(Broadcast.id).limit(100)).all():
            try:
                start(broadcast)
            except QuotaExceeded as exc:
                db.session.rollback()  # back to a draft that says why, instead of trying again every minute
                move_status(broadcast, [BroadcastStatus.SCHEDULED], status=BroadcastStatus.DRAFT, error=str(exc))
                db.session.commit()
                continue
            except Invalid:
                db.session.rollback()  # started by someone else meanwhile
                continue
            db.session.commit()
            started += 1
    return {"started": started}


@app_job
def sweep_broadcasts() -> dict[str, int]:
    """Settle recipients whose message is final, complete finished broadcasts, restart feeders Redis lost."""
    counts = {"completed": 0, "restarted": 0}
    active = (Broadcast.status.in_([BroadcastStatus.SENDING, BroadcastStatus.PAUSED, BroadcastStatus.CANCELLED]),)
    for tenant_id in each_tenant(Broadcast, *active):
        sending_recipient = select(BroadcastRecipient.id).where(
            BroadcastRecipient.broadcast_id == Broadcast.id,
            BroadcastRecipient.state.in_([RecipientState.SENDING, RecipientState.QUEUED])).exists()
        for broadcast in db.session.scalars(select(Broadcast).where(*active, sending_recipient)).all():
            settle(broadcast.id)
            db.session.commit()
            if complete_if_done(broadcast):
                counts["completed"] += 1
            elif broadcast.status == BroadcastStatus.SENDING and not get_redis().exists(
                    feeder_key(tenant_id, broadcast.id)):
                start_feeder(broadcast)
                counts["restarted"] += 1
            db.session.commit()
    return counts
