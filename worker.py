"""Worker entry point: `rq worker -w worker.AppWorker QUEUES`.

Builds the app once per worker process and hands it to the jobs (jobs.context), so jobs never
import the app factory themselves; jobs.worker supplies the Redis-outage handling.
"""
from __future__ import annotations

from app import create_app
from jobs.context import set_worker_app, worker_app
from jobs.worker import ResilientWorker


class AppWorker(ResilientWorker):
    """The worker MessageHub runs: one warm app per process, jobs run in that process."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        try:
            worker_app()  # a test or an embedding process may have given one already
        except RuntimeError:
            set_worker_app(create_app())
