"""What Redis holds when a benchmarked broadcast stops moving: its feeder's claim and the feeder jobs' last word.

A broadcast whose counts stand still while recipients are left has lost a job chain; the periodic sweep heals
that within a minute or two, but the cause is in Redis only while the last jobs' results are kept (500 s).
"""
from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

FEED_FUNC = "jobs.broadcasts.feed_broadcast"


def describe(url: str, feeder_key: str, queue_names: list[str]) -> list[str]:
    """Lines saying who holds the feeder claim, what waits in each queue and registry, and the last feed jobs."""
    redis = Redis.from_url(url)
    lines = [f"feeder claim {feeder_key}: {redis.get(feeder_key)!r}, ttl {redis.ttl(feeder_key)} s"]
    for name in queue_names:
        queue = Queue(name, connection=redis)
        registries = {"queued": queue.get_job_ids(), "scheduled": ScheduledJobRegistry(queue=queue).get_job_ids(),
                      "started": StartedJobRegistry(queue=queue).get_job_ids(),
                      "failed": FailedJobRegistry(queue=queue).get_job_ids()}
        for kind, ids in registries.items():
            for job in Job.fetch_many(ids[-5:], connection=redis):
                if job is not None:
                    lines.append(f"  {name} {kind}: {job.func_name} {job.args} {_last_line(job)}")
    feeds = [job for job in Job.fetch_many([key.decode().removeprefix("rq:job:") for key in redis.scan_iter(
        "rq:job:*", count=1000) if b":" not in key.removeprefix(b"rq:job:")], connection=redis)
        if job is not None and job.func_name == FEED_FUNC]
    feeds.sort(key=lambda job: job.ended_at or job.enqueued_at or job.created_at)
    for job in feeds[-3:]:
        lines.append(f"  last feed jobs: {job.get_status()} ended {job.ended_at} result {job.return_value()!r} "
                     f"{_last_line(job)}")
    return lines


def _last_line(job: Job) -> str:
    exc = job.exc_info or ""
    return exc.strip().splitlines()[-1] if exc.strip() else ""
