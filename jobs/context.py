"""How jobs get an app, a database session and a tenant scope, and how requests enqueue them."""
from __future__ import annotations

import functools
import logging
from datetime import timedelta
from typing import Any, Callable

from flask import Flask, current_app, has_app_context
from rq import Queue
from sqlalchemy import event
from sqlalchemy.orm import Session

from extensions import db, get_redis
from models.tenancy import tenant_scope

log = logging.getLogger(__name__)
_worker_app: Flask | None = None
_PENDING = "messagehub.jobs_after_commit"

# Queues, most urgent first. Workers take from them in this order, and a second worker serves only
# the first two, so a customer's message and a person's reply never wait behind bulk sends.
INBOUND_QUEUE = "inbound"          # webhook events, inbound media, sandbox events
INTERACTIVE_QUEUE = "interactive"  # messages a person is waiting on (inbox replies, confirmations)
DEFAULT_QUEUE = "default"          # housekeeping and cron jobs
BULK_QUEUE = "bulk"                # sends on behalf of automations and imports
ALL_QUEUES = (INBOUND_QUEUE, INTERACTIVE_QUEUE, DEFAULT_QUEUE, BULK_QUEUE)
# Message origins a person is waiting on; every other origin sends through the bulk queue.
INTERACTIVE_ORIGINS = frozenset({"inbox", "system"})


def send_queue(origin: str) -> str:
    """The queue a message of `origin` is sent through."""
    return INTERACTIVE_QUEUE if origin in INTERACTIVE_ORIGINS else BULK_QUEUE


def set_worker_app(app: Flask | None) -> None:
    """Use `app` for jobs run in this process (tests run a worker beside their app)."""
    global _worker_app
    _worker_app = app


def worker_app() -> Flask:
    """The app a worker process runs jobs in (built once per process from the environment)."""
    global _worker_app
    if _worker_app is None:
        if has_app_context():
            return current_app._get_current_object()
        from app import create_app

        _worker_app = create_app()
    return _worker_app


def _run_in_app(func: Callable, *args, **kwargs) -> Any:
    """Each job gets its own app context, hence its own session (one session per job)."""
    app = worker_app()
    with app.app_context():
        try:
            return func(*args, **kwargs)
        finally:
            db.session.remove()


def app_job(func: Callable) -> Callable:
    """Run an install-wide job inside an app context with its own session."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _run_in_app(func, *args, **kwargs)

    return wrapper


def tenant_job(func: Callable) -> Callable:
    """Run a job as the tenant named by its first argument, `tenant_id` (fail closed without it)."""

    @functools.wraps(func)
    def wrapper(tenant_id: int, *args, **kwargs):
        def scoped():
            with tenant_scope(tenant_id):
                return func(tenant_id, *args, **kwargs)

        return _run_in_app(scoped)

    return wrapper


def queue(name: str = "default") -> Queue:
    """An RQ queue on the app's Redis."""
    return Queue(name, connection=get_redis())


def enqueue_after_commit(func: Callable, *args, delay: float = 0, queue_name: str = "default", **kwargs) -> None:
    """Enqueue `func(*args)` once the current transaction commits; dropped on rollback.

    The row a job works on must be committed before a worker can see it, and a rolled back
    request must not leave a job behind.
    """
    db.session.info.setdefault(_PENDING, []).append((func, args, kwargs, delay, queue_name))


def enqueue_now(func: Callable, *args, delay: float = 0, queue_name: str = "default", **kwargs):
    """Enqueue immediately (the caller has committed already)."""
    q = queue(queue_name)
    if delay > 0:
        return q.enqueue_in(timedelta(seconds=delay), func, *args, **kwargs)
    return q.enqueue(func, *args, **kwargs)


def enqueue_in_one_round_trip(func: Callable, *args, queue_name: str = DEFAULT_QUEUE, **kwargs):
    """Enqueue immediately in one Redis round trip (RQ's `enqueue` makes two); for request paths under load."""
    with get_redis().pipeline() as pipe:
        job = queue(queue_name).enqueue_call(func, args=args, kwargs=kwargs, pipeline=pipe)
        pipe.execute()
    return job


@event.listens_for(Session, "after_commit")
def _flush_pending_jobs(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    for func, args, kwargs, delay, queue_name in pending:
        try:
            enqueue_now(func, *args, delay=delay, queue_name=queue_name, **kwargs)
        except Exception:  # Redis down: the row is committed and a sweep will pick it up.
            log.exception("could not enqueue %s; the periodic sweep will retry", getattr(func, "__name__", func))


@event.listens_for(Session, "after_rollback")
def _drop_pending_jobs(session: Session) -> None:
    session.info.pop(_PENDING, None)
