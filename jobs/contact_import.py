"""Contact import jobs: one run over an import (queueing the next while rows are left), and the sweep that
re-queues imports whose job Redis lost or whose worker died."""
from __future__ import annotations

import logging

from sqlalchemy import select

from extensions import db
from jobs.context import app_job, tenant_job
from models import ContactImport
from models.tenancy import each_tenant
from services.contact_import import runner
from services.contact_import.lifecycle import RUN_JOB
from services.queueing import BULK_QUEUE, enqueue_now

log = logging.getLogger(__name__)


@tenant_job
def run_import(tenant_id: int, import_id: int) -> str:
    """Import the next chunks of a file; a broken run leaves its reason on the import for the sweep's report."""
    try:
        outcome = runner.run(import_id)
    except Exception as exc:
        log.exception("contact import %s broke", import_id)
        runner.record_failure(import_id, f"{type(exc).__name__}: {exc}")
        raise
    if outcome == "more":
        enqueue_now(RUN_JOB, tenant_id, import_id, queue_name=BULK_QUEUE)
    return outcome


@app_job
def sweep_imports() -> dict[str, int]:
    """Every minute: queue a run for each import that has not moved for a while (it resumes at its position)."""
    requeued = 0
    for tenant_id in each_tenant(ContactImport, *runner.stalled_criteria()):
        for import_id in db.session.scalars(select(ContactImport.id).where(*runner.stalled_criteria())).all():
            # Marked first: while no worker takes the job, it is queued again only once per stall period.
            runner.touch(import_id)
            db.session.commit()
            enqueue_now(RUN_JOB, tenant_id, import_id, queue_name=BULK_QUEUE)
            requeued += 1
    return {"requeued": requeued}
