"""The RQ worker class MessageHub runs: one app per worker process, jobs run in that process.

RQ's default worker forks a fresh "work horse" per job. A horse starts cold: new database and
HTTP connections and an empty SQL compilation cache, which costs several times more than
sending one message (measured with bench/outbox.py: ~270 ms per job forked, ~80 ms in process).
Jobs here are short and each gets its own app context and session, so running them in the
worker process is the better trade; a job that must be isolated can still go to a plain
`rq worker` on its own queue.
"""
from __future__ import annotations

from rq import SimpleWorker

from jobs.context import worker_app


class AppWorker(SimpleWorker):
    """`rq worker -w jobs.worker.AppWorker`: builds the app once and keeps its pools warm."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        worker_app()
