"""Queue health for platform admins, through rq's own API: depth, workers, scheduled and failed jobs, requeue."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rq import Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from extensions import get_redis
from services.errors import Invalid
from services.queueing import ALL_QUEUES, queue

SHOWN = 50


@dataclass(frozen=True)
class FailedJob:
    """A failed job as the page shows it: what ran, for which workspace, and the last line of its error."""

    id: str
    queue: str
    func: str
    tenant_id: int | None
    ended_at: datetime | None
    error: str


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else "(no error recorded)"


def _error_of(job: Job) -> str | None:
    result = job.latest_result()
    return result.exc_string if result is not None else None


def queue_health() -> dict:
    """Per queue: waiting, running, scheduled and failed counts; the workers; the newest failed jobs."""
    queues, failed = [], []
    for name in ALL_QUEUES:
        q = queue(name)
        failed_registry = FailedJobRegistry(queue=q)
        queues.append({"name": name, "waiting": q.count, "running": StartedJobRegistry(queue=q).count,
                       "scheduled": ScheduledJobRegistry(queue=q).count, "failed": failed_registry.count})
        for job in Job.fetch_many(failed_registry.get_job_ids(0, SHOWN - 1), connection=q.connection):
            if job is None:
                continue
            first = job.args[0] if job.args else None
            failed.append(FailedJob(id=job.id, queue=name, func=job.func_name, ended_at=job.ended_at,
                                    tenant_id=first if isinstance(first, int) else None,
                                    error=_last_line(_error_of(job))))
    workers = [{"name": w.name, "state": w.get_state(), "queues": ", ".join(w.queue_names()),
                "current": (w.get_current_job_id() or ""), "heartbeat": w.last_heartbeat}
               for w in Worker.all(connection=get_redis())]
    failed.sort(key=lambda job: job.ended_at.timestamp() if job.ended_at else 0, reverse=True)
    return {"queues": queues, "workers": workers, "failed": failed[:SHOWN]}


def requeue(job_id: str) -> str:
    """Put a failed job back on its queue; returns the queue's name."""
    try:
        job = Job.fetch(job_id, connection=get_redis())
    except NoSuchJobError as exc:
        raise Invalid("That job is gone (Redis keeps failed jobs for a while only).") from exc
    name = job.origin
    if name not in ALL_QUEUES:
        raise Invalid("That job is not on one of MessageHub's queues.")
    try:
        FailedJobRegistry(queue=queue(name)).requeue(job_id)
    except InvalidJobOperation as exc:
        raise Invalid("That job has not failed (it may have been requeued already).") from exc
    return name
