"""A Redis outage does not end the worker or the cron process: real processes against a redis-server
that the test stops and starts again (empty, as a restarted Redis without persistence is)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.workers import wait_until

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def write_marker(path: str, pause: float = 0.0, started: str | None = None) -> str:
    """Test job: note that it started, wait `pause` seconds, then write `path`."""
    if started:
        Path(started).write_text("started")
    time.sleep(pause)
    Path(path).write_text("done")
    return path


def stays_alive(process: subprocess.Popen, seconds: float, what: str) -> None:
    """Fail as soon as `process` exits during the next `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{what} exited with {process.returncode} while Redis was down"
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throwaway redis-server on a free port, without persistence, that a test stops and restarts."""

    def __init__(self, directory: Path):
        binary = shutil.which("redis-server")
        if not binary:
            pytest.fail("redis-server is not installed; the outage tests need their own Redis to stop")
        self.binary, self.directory, self.port = binary, directory, _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = Redis.from_url(self.url)
        wait_until(lambda: self._answers(client), 10, "redis-server to answer")
        client.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None

    def _answers(self, client: Redis) -> bool:
        assert self.process.poll() is None, "redis-server exited (port taken?)"
        try:
            return client.ping()
        except RedisConnectionError:
            return False


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.process is not None:
        server.stop()


def _start(command: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    log = open(log_path, "w")
    # Own process group, so whatever it forks (the scheduler) can be stopped with it.
    process = subprocess.Popen([str(part) for part in command], cwd=ROOT, env=env or dict(os.environ),
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log_file = log
    return process


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)  # a scheduler child that outlived its worker
    except ProcessLookupError:
        pass
    process.log_file.close()


def _worker_env(app) -> dict[str, str]:
    """What a worker process needs to build the same app as `app`."""
    config = app.config
    return dict(os.environ, DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=config["REDIS_URL"],
                MESSAGEHUB_INSTANCE=config["MESSAGEHUB_INSTANCE"], SECRET_KEY=config["SECRET_KEY"],
                MESSAGEHUB_ENCRYPTION_KEYS=",".join(config["ENCRYPTION_KEYS"]))


def _count(log_path: Path, *needles: str) -> int:
    return sum(all(needle in line for needle in needles) for line in log_path.read_text().splitlines())


def test_worker_rides_out_a_redis_outage_and_records_the_job_it_interrupted(redis_server, make_app, tmp_path):
    from rq import Queue, Worker
    from rq.job import Job

    log_path = tmp_path / "worker.log"
    env = _worker_env(make_app(REDIS_URL=redis_server.url))
    worker = _start([BIN / "rq", "worker", "-w", "worker.AppWorker", "--with-scheduler",
                     "--url", redis_server.url, "--path", ROOT, "default"], log_path, env)
    redis = Redis.from_url(redis_server.url)
    queue = Queue("default", connection=redis)
    try:
        warm = tmp_path / "warm"
        queue.enqueue(write_marker, str(warm))
        wait_until(warm.exists, 60, "the worker to run a first job")

        # Redis goes away while a job runs: the job finishes, RQ cannot record how.
        started, done = tmp_path / "started", tmp_path / "done"
        interrupted = queue.enqueue(write_marker, str(done), pause=1.0, started=str(started))
        wait_until(started.exists, 30, "the slow job to start")
        redis_server.stop()
        wait_until(done.exists, 30, "the slow job to finish")
        stays_alive(worker, 3, "the worker")
        redis_server.start()

        after, delayed = tmp_path / "after", tmp_path / "delayed"
        queue.enqueue(write_marker, str(after))
        queue.enqueue_in(timedelta(seconds=1), write_marker, str(delayed))
        wait_until(after.exists, 60, "a job enqueued after Redis came back to run")
        wait_until(delayed.exists, 60, "the worker's scheduler to enqueue a delayed job")
        wait_until(lambda: Worker.count(connection=redis) == 1, 30, "the worker to register with the new Redis")
        # The interrupted job is not lost silently: RQ lists it as failed and says why.
        wait_until(lambda: interrupted.id in queue.failed_job_registry.get_job_ids(), 30,
                   "the interrupted job to be recorded as failed")
        assert "Redis connection lost" in Job.fetch(interrupted.id, connection=redis).latest_result().exc_string
        assert _count(log_path, "Redis went away during job", interrupted.id) == 1

        # Waiting for Redis does not make the worker deaf to a stop request.
        outages = _count(log_path, "Worker", "Redis unreachable")
        redis_server.stop()
        wait_until(lambda: _count(log_path, "Worker", "Redis unreachable") > outages, 30,
                   "the worker to notice the second outage")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0
    finally:
        _stop(worker)
        redis.close()


def test_cron_process_rides_out_a_redis_outage(redis_server, tmp_path):
    from rq import Queue
    from rq.cron import CronScheduler

    config = tmp_path / "cron_every_second.py"
    config.write_text("from rq import cron\n"
                      "from tests.test_worker_resilience import write_marker\n"
                      f"cron.register(write_marker, queue_name='cron', args=({str(tmp_path / 'x')!r},), interval=1)\n")
    log_path = tmp_path / "cron.log"
    cron = _start([sys.executable, "-m", "jobs.cron_runner", "--url", redis_server.url, config], log_path)
    redis = Redis.from_url(redis_server.url)
    queue = Queue("cron", connection=redis)
    try:
        wait_until(lambda: queue.count >= 1, 30, "the cron process to enqueue its job")
        redis_server.stop()
        stays_alive(cron, 3, "the cron process")  # it wakes every second, so it meets the outage
        redis_server.start()

        wait_until(lambda: queue.count >= 1, 60, "the cron process to enqueue again once Redis is back")
        wait_until(lambda: len(CronScheduler.all(redis)) == 1, 30, "the cron process to register again")

        outages = _count(log_path, "Redis unreachable")
        redis_server.stop()
        wait_until(lambda: _count(log_path, "Redis unreachable") > outages, 30,
                   "the cron process to notice the second outage")
        cron.send_signal(signal.SIGTERM)
        assert cron.wait(timeout=15) == 0
    finally:
        _stop(cron)
        redis.close()
