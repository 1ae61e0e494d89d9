"""Admin › Queues: depth, workers, scheduled and failed jobs (with their errors), and requeueing one."""
from __future__ import annotations

from flask import flash, url_for

from blueprints.admin.blueprint import bp
from blueprints.htmx import render, see_other
from extensions import db
from services.admin.queues import queue_health, requeue
from services.admin.rollup import refresh_stats
from services.audit import record
from services.errors import Invalid


@bp.get("/queues")
def queues():
    """Queue health from rq's registries."""
    record("admin.viewed_queues", tenant_id=None)
    db.session.commit()
    return render("admin/queues.html", health=queue_health())


@bp.post("/queues/jobs/<job_id>/requeue")
def requeue_job(job_id: str):
    """Put one failed job back on its queue."""
    try:
        name = requeue(job_id)
    except Invalid as exc:
        db.session.rollback()
        flash(" ".join(exc.errors.values()), "error")
    else:
        record("admin.job_requeued", tenant_id=None, changes={"job": job_id, "queue": name})
        db.session.commit()
        flash(f"Requeued on {name}.", "success")
    return see_other(url_for("admin.queues"))


@bp.post("/stats/refresh")
def refresh():
    """Roll the usage figures up now instead of waiting for the next run."""
    count = refresh_stats()
    record("admin.stats_refreshed", tenant_id=None, changes={"workspaces": count})
    db.session.commit()
    flash(f"Figures refreshed for {count:,} workspaces.", "success")
    return see_other(url_for("admin.tenants"))
