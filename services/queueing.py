"""Enqueueing jobs: by dotted path, once the transaction commits, on the queue their urgency calls for.

Services name jobs by path ("jobs.sending.send_message") instead of importing them, so the domain
never depends on the job layer that calls back into it.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from extensions import AppSession, db, get_redis
from models.tenancy import listen_once, releasing_savepoint

log = logging.getLogger(__name__)
_PENDING = "messagehub.jobs_after_commit"
_COALESCED = "messagehub.jobs_coalesced"
_FLIGHT_PREFIX = "messagehub:flight:"
# A single-flight key outlives a job that died without releasing it by this long at most; the
# periodic sweeps cover what arrived meanwhile.
FLIGHT_TTL_SECONDS = 120

# Queues, most urgent first. Workers take from them in this order, and a second worker serves only
# the first two, so a customer's message and a person's reply never wait behind bulk sends.
INBOUND_QUEUE = "inbound"          # webhook events, inbound media, sandbox events
INTERACTIVE_QUEUE = "interactive"  # messages a person is waiting on (inbox replies, confirmations)
DEFAULT_QUEUE = "default"          # housekeeping and cron jobs
BULK_QUEUE = "bulk"                # sends on behalf of automations and imports
ALL_QUEUES = (INBOUND_QUEUE, INTERACTIVE_QUEUE, DEFAULT_QUEUE, BULK_QUEUE)
# Message origins a person is waiting on; every other origin sends through the bulk queue.
INTERACTIVE_ORIGINS = frozenset({"inbox", "system"})


def init_app(app) -> None:
    """Enqueue the jobs a transaction asked for once it commits, and forget them if it rolls back."""
    listen_once(AppSession, "after_commit", _flush_pending_jobs)
    # A savepoint's rollback forgets only the jobs asked for inside it (see _drop_pending_jobs).
    listen_once(AppSession, "after_soft_rollback", _drop_pending_jobs)


def send_queue(origin: str) -> str:
    """The queue a message of `origin` is sent through."""
    return INTERACTIVE_QUEUE if origin in INTERACTIVE_ORIGINS else BULK_QUEUE


def queue(name: str = DEFAULT_QUEUE) -> Queue:
    """An RQ queue on the app's Redis."""
    return Queue(name, connection=get_redis())


def jobs_waiting() -> bool:
    """Whether any job waits in a queue the workers take (one round trip)."""
    with get_redis().pipeline(transaction=False) as pipe:
        for name in ALL_QUEUES:
            pipe.llen(queue(name).key)
        return any(pipe.execute())


def enqueue_after_commit(job: str, *args, delay: float = 0, queue_name: str = DEFAULT_QUEUE,
                         coalesce: int = 1, single_flight: str | None = None, **kwargs) -> None:
    """Enqueue `job(*args)` once the current transaction commits; dropped on rollback.

    The row a job works on must be committed before a worker can see it, and a rolled back
    request must not leave a job behind. With `coalesce=n`, of every n requests for the same job,
    queue and first argument in one transaction only the first is enqueued: for jobs that serve
    their neighbours too (a send job takes the next queued messages with it). With
    `single_flight=key`, the job is enqueued only if no job holding `key` is queued or running
    (see `release_flight`): for jobs that work through everything pending when they run.
    """
    savepoints = _open_savepoints()
    if single_flight is not None:
        db.session.info.setdefault(_PENDING, []).append(
            (job, args, kwargs, delay, queue_name, single_flight, savepoints))
        return
    pending = db.session.info.setdefault(_PENDING, [])
    if coalesce > 1:
        group = (job, queue_name, args[:1])
        counts = db.session.info.setdefault(_COALESCED, {})
        counts[group] = counts.get(group, 0) + 1
        if (counts[group] - 1) % coalesce:
            return
    pending.append((job, args, kwargs, delay, queue_name, None, savepoints))


def _open_savepoints() -> tuple:
    """The savepoints open now, innermost first: a job asked for inside one is forgotten if it rolls back."""
    found, transaction = [], db.session().get_nested_transaction()
    while transaction is not None and transaction.nested:
        found.append(transaction)
        transaction = transaction.parent
    return tuple(found)


def claim_flight(key: str) -> bool:
    """Take the single-flight `key` (True) unless a queued or running job holds it (False)."""
    return bool(get_redis().set(_FLIGHT_PREFIX + key, 1, nx=True, ex=FLIGHT_TTL_SECONDS))


def hold_flight(key: str) -> None:
    """Keep holding `key` while a long job is still working (its time to live starts again)."""
    get_redis().expire(_FLIGHT_PREFIX + key, FLIGHT_TTL_SECONDS)


def release_flight(key: str) -> None:
    """Let the next request for `key` enqueue a job: call it once the job has found nothing left to do."""
    get_redis().delete(_FLIGHT_PREFIX + key)


def enqueue_now(job: str, *args, delay: float = 0, queue_name: str = DEFAULT_QUEUE, **kwargs):
    """Enqueue immediately (the caller has committed already)."""
    q = queue(queue_name)
    if delay > 0:
        return _enqueue_later(q, delay, job, *args, **kwargs)
    return q.enqueue(job, *args, **kwargs)


def _enqueue_later(q: Queue, delay: float, job: str, *args, **kwargs) -> Job:
    """`job(*args, **kwargs)` on `q` in `delay` seconds: the job is saved before its id is scheduled.

    RQ 2.12's `enqueue_in` adds the id to the scheduled registry at once and saves the job after it. A
    scheduler pass in between finds no job under that id and drops the id: the job is never run (172 of
    2,000 jobs due at once, with a scheduler polling in a loop). The broadcast feeder and the batch sender,
    which reschedule themselves a quarter second ahead, lost their next round that way and stalled.
    """
    scheduled = q.create_job(job, args=args, kwargs=kwargs, status=JobStatus.SCHEDULED)
    scheduled.save()
    q.connection.sadd(q.redis_queues_keys, q.key)
    ScheduledJobRegistry(queue=q).schedule(scheduled, datetime.now(UTC) + timedelta(seconds=delay))
    return scheduled


def _flush_pending_jobs(session) -> None:
    if releasing_savepoint(session):
        return  # the jobs wait for the transaction's own commit: a worker must find their rows
    session.info.pop(_COALESCED, None)
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    try:
        pending = _claim_flights(pending)
        now = [(job, args, kwargs, name) for job, args, kwargs, delay, name, *_ in pending if not delay]
        later = [(job, args, kwargs, delay, name) for job, args, kwargs, delay, name, *_ in pending if delay]
        if now:  # one Redis round trip for all of them: this runs at the end of hot request paths
            with get_redis().pipeline() as pipe:
                for job, args, kwargs, name in now:
                    queue(name).enqueue_call(job, args=args, kwargs=kwargs, pipeline=pipe)
                pipe.execute()
        for job, args, kwargs, delay, name in later:
            enqueue_now(job, *args, delay=delay, queue_name=name, **kwargs)
    except Exception:  # Redis down: the rows are committed and the periodic sweeps pick them up.
        log.exception("could not enqueue %s job(s); the periodic sweeps will", len(pending))


def _claim_flights(pending: list[tuple]) -> list[tuple]:
    """The pending jobs to enqueue: single-flight ones only where their key was free (one round trip)."""
    keys = list(dict.fromkeys(item[5] for item in pending if item[5] is not None))
    if not keys:
        return pending
    if len(keys) == 1:  # the common case (one webhook delivery): a plain SET costs less than a pipeline
        claimed = {keys[0]} if claim_flight(keys[0]) else set()
    else:
        with get_redis().pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(_FLIGHT_PREFIX + key, 1, nx=True, ex=FLIGHT_TTL_SECONDS)
            claimed = {key for key, taken in zip(keys, pipe.execute(), strict=True) if taken}
    kept = []
    for item in pending:
        if item[5] is None:
            kept.append(item)
        elif item[5] in claimed:
            claimed.discard(item[5])  # the first job asking for a key gets it, the rest are covered
            kept.append(item)
    return kept


def _drop_pending_jobs(session, previous_transaction) -> None:
    if previous_transaction.nested:
        # A savepoint rolled back: only the jobs asked for inside it go; the transaction's others stand.
        kept = [item for item in session.info.get(_PENDING, []) if previous_transaction not in item[6]]
        session.info[_PENDING] = kept
        return
    session.info.pop(_PENDING, None)
    session.info.pop(_COALESCED, None)
