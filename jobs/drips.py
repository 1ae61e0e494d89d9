"""Drip jobs: the cron sweep that queues every workspace's due steps, and the timed job for one workspace."""
from __future__ import annotations

from datetime import datetime

from extensions import db
from jobs.context import app_job, tenant_job
from models import DripEnrolment
from models.base import utcnow
from models.tenancy import tenant_ids_where, tenant_scope
from services.drips import sending

MAX_ROUNDS = 50  # rounds of one batch per workspace per sweep; what is left waits for the next sweep


def _add(totals: dict[str, int], counts: dict[str, int]) -> None:
    for key, value in counts.items():
        totals[key] = totals.get(key, 0) + value


@tenant_job
def send_due_for_tenant(tenant_id: int, now: datetime | None = None) -> dict[str, int]:
    """When an enrolment's first step is due: queue the workspace's due steps (one batch; the sweep does the rest)."""
    counts = sending.send_due(now or utcnow())
    db.session.commit()
    return counts


@app_job
def send_due_steps(now: datetime | None = None) -> dict[str, int]:
    """Every minute: queue the due steps of every workspace, a bounded batch per workspace per round.

    Round-robin keeps one workspace with 100,000 due enrolments from holding back another's few; each
    batch commits on its own, and the sweep never waits: what is left after MAX_ROUNDS goes next minute.
    """
    now = now or utcnow()
    totals: dict[str, int] = {}
    busy = tenant_ids_where(DripEnrolment, *sending.due_criteria(now))
    for _round in range(MAX_ROUNDS):
        still = []
        for tenant_id in busy:
            with tenant_scope(tenant_id):
                counts = sending.send_due(now, sending.BATCH)
                db.session.commit()
            _add(totals, counts)
            handled = sum(counts.values())
            if handled >= sending.BATCH and counts["waiting"] < handled:
                still.append(tenant_id)
        if not still:
            break
        busy = still
    return totals
