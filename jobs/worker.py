"""The RQ worker class beneath `worker.AppWorker`: jobs run in the worker process, and Redis outages are waited out.

RQ's default worker forks a fresh "work horse" per job. A horse starts cold: new database and
HTTP connections and an empty SQL compilation cache, which costs several times more than
sending one message (measured with bench/outbox.py: ~270 ms per job forked, ~80 ms in process).
Jobs here are short and each gets its own app context and session, so running them in the
worker process is the better trade; a job that must be isolated can still go to a plain
`rq worker` on its own queue.

RQ 2.12 waits out a lost connection only while blocked on the queues; a Redis error anywhere
else (a job finishing, the heartbeat after it, the suspension check, a hung socket) ends the
worker, and the `--with-scheduler` process dies on its first failed heartbeat. AppWorker and
AppScheduler wait for Redis instead and carry on where they were.
"""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

import redis.exceptions
from rq import SimpleWorker, worker_registration
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.scheduler import RQScheduler
from rq.worker import WorkerStatus

# What an unreachable Redis raises: refused or dropped connections (BusyLoadingError included) and
# sockets that stopped answering.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class RedisOutage:
    """Paces retries while Redis is unreachable; logs when an outage starts and when it ends, once each."""

    def __init__(self, log: logging.Logger, who: str, first_delay: float = 1.0, max_delay: float = 30.0):
        self.log, self.who = log, who
        self.first_delay, self.max_delay = first_delay, max_delay
        self.delay = first_delay
        self.since: float | None = None

    def wait(self, error: Exception, stopping: Callable[[], bool] = lambda: False) -> None:
        """Sleep before the next attempt, doubling the pause up to the cap; returns early once `stopping()`."""
        if self.since is None:
            self.since, self.delay = time.monotonic(), self.first_delay
            self.log.warning("%s: Redis unreachable (%s); retrying with backoff up to %.0f s until it is back",
                             self.who, error, self.max_delay)
        deadline = time.monotonic() + self.delay
        # Short naps: the scheduler's stop signal only sets a flag, and stopping should not wait 30 s.
        while not stopping() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))
        self.delay = min(self.delay * 2, self.max_delay)

    def over(self) -> None:
        """Redis answered: log the end of the outage, if there was one."""
        if self.since is not None:
            self.log.warning("%s: Redis is back after %.1f s; carrying on", self.who, time.monotonic() - self.since)
            self.since = None


def _until_redis_answers(method):
    """Run a worker method; when Redis is unreachable, wait for it and run the method again."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        while True:
            try:
                return method(self, *args, **kwargs)
            except REDIS_DOWN as error:
                self._wait_for_redis(error)

    return wrapper


# How often the scheduler moves due jobs to their queues (RQ's default is every second, which stays the
# heartbeat's pace): the batch sender and the broadcast feeder reschedule themselves a fraction of a second ahead.
SCHEDULER_INTERVAL = 0.2


class AppScheduler(RQScheduler):
    """RQ's scheduler process (`--with-scheduler`), kept alive through Redis outages."""

    def work(self):
        self._install_signal_handlers()
        outage = RedisOutage(self.log, f"Scheduler {self.name}")
        registered, beat = False, 0.0
        while not self._stop_requested:
            try:
                if not registered:  # again after an outage: a restarted Redis has forgotten this scheduler
                    self.register_birth()
                    registered = True
                if self.should_reacquire_locks:
                    self.acquire_locks()
                if time.monotonic() - beat >= self.interval:
                    self.heartbeat()  # also takes back locks that expired while Redis was away
                    beat = time.monotonic()
                self.enqueue_scheduled_jobs()
            except REDIS_DOWN as error:
                registered, beat = False, 0.0
                outage.wait(error, stopping=lambda: self._stop_requested)
                continue
            outage.over()
            time.sleep(SCHEDULER_INTERVAL)
        try:
            self.stop()
        except REDIS_DOWN as error:
            self.log.warning("Scheduler %s: stopped without releasing its locks, Redis unreachable (%s); "
                             "they expire on their own", self.name, error)


class ResilientWorker(SimpleWorker):
    """Runs jobs in the worker process (warm pools) and outlives Redis outages; `worker.AppWorker` gives it an app."""

    max_connection_wait_time = 30.0  # RQ's own pause around a refused blocking pop, capped like ours

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._outage = RedisOutage(self.log, f"Worker {self.name}")

    # -- waiting for Redis --------------------------------------------------------------------------

    def _wait_for_redis(self, error: Exception) -> None:
        """Block until Redis answers again and this worker is registered there; raise StopRequested on a stop."""
        while True:
            self._outage.wait(error, stopping=lambda: self._stop_requested)
            if self._stop_requested:
                raise StopRequested()
            try:
                self.connection.ping()
                self._rejoin()
            except REDIS_DOWN as again:
                error = again
                continue
            self._outage.over()
            return

    def _rejoin(self) -> None:
        """Announce this worker again (a restarted Redis lost it) and revive the scheduler if it died."""
        with self.connection.pipeline() as pipeline:
            pipeline.hset(self.key, mapping={**self.serialize(), "state": self.get_state()})
            worker_registration.register(self, pipeline)
            pipeline.expire(self.key, self.worker_ttl + 60)
            pipeline.execute()
        scheduler = self.scheduler
        if scheduler is not None and (scheduler._process is None or not scheduler._process.is_alive()):
            scheduler.acquire_locks(auto_start=True)

    # -- RQ's main loop lets any of these end the worker on a Redis error; wait and retry instead ------

    @_until_redis_answers
    def heartbeat(self, *args, **kwargs):
        return super().heartbeat(*args, **kwargs)

    @_until_redis_answers
    def set_state(self, *args, **kwargs):
        return super().set_state(*args, **kwargs)

    @_until_redis_answers
    def check_for_suspension(self, *args, **kwargs):
        return super().check_for_suspension(*args, **kwargs)

    @_until_redis_answers
    def run_maintenance_tasks(self, *args, **kwargs):
        return super().run_maintenance_tasks(*args, **kwargs)

    @_until_redis_answers
    def dequeue_job_and_maintain_ttl(self, *args, **kwargs):
        # RQ retries refused connections around its blocking pop, but not a timed-out socket (a hung
        # Redis) nor the state update before it.
        return super().dequeue_job_and_maintain_ttl(*args, **kwargs)

    def execute_job(self, job, queue):
        try:
            super().execute_job(job, queue)
        except REDIS_DOWN as error:
            self.log.error("Worker %s: Redis went away during job %s (%s); it will be recorded as failed "
                           "(and retried if it has retries left) once Redis is back", self.name, job.id,
                           job.description)
            try:
                self._wait_for_redis(error)
            except StopRequested:
                self.log.error("Worker %s: stopping before Redis came back; job %s is not recorded in RQ "
                               "(the database sweeps re-enqueue unfinished work)", self.name, job.id)
                raise
            self._record_interrupted_job(job, queue, error)
            self.set_state(WorkerStatus.IDLE)

    def _record_interrupted_job(self, job, queue, error: Exception) -> None:
        """Record a job whose outcome Redis never heard of as failed, so RQ retries or lists it."""
        reason = f"Redis connection lost while the job ran ({error}); whether it finished is unknown"
        try:
            if not self.connection.exists(job.key):
                job.save()  # Redis came back empty: restore the job so the failure has something to point at
            self.handle_job_failure(job, queue=queue, exc_string=reason)
            self.log.warning("Worker %s: job %s recorded as failed (retried if it has retries left)", self.name, job.id)
        except Exception:  # recording is best effort; the worker must keep going
            self.log.exception("Worker %s: could not record job %s as failed", self.name, job.id)

    # -- stopping while Redis is down ---------------------------------------------------------------

    def set_shutdown_requested_date(self):
        try:  # runs inside the stop signal handler: raising here would land in the middle of a job
            super().set_shutdown_requested_date()
        except REDIS_DOWN:
            pass

    def register_death(self):
        try:
            super().register_death()
        except REDIS_DOWN as error:
            self.log.warning("Worker %s: could not record its exit, Redis unreachable (%s)", self.name, error)

    def unsubscribe(self):
        try:
            super().unsubscribe()
        except REDIS_DOWN:
            if self.pubsub_thread:
                self.pubsub_thread.stop()

    def _pubsub_exception_handler(self, exc, pubsub, pubsub_thread):
        if isinstance(exc, REDIS_DOWN):
            time.sleep(2.0)  # the main loop reports the outage; RQ would log here every 2 s
            return
        super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT, log_format: str = DEFAULT_LOGGING_FORMAT):
        """RQ's own scheduler start-up, with the scheduler that outlives outages."""
        if burst:
            return super()._start_scheduler(burst, logging_level, date_format, log_format)
        self.scheduler = AppScheduler(
            self.queues, connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format, log_format=log_format, serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            self.scheduler.start()
