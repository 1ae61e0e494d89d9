"""Real `rq worker` processes configured like a test app (same database, Redis, keys and fakes)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from services.queueing import ALL_QUEUES

ROOT = Path(__file__).resolve().parents[1]


def worker_env(app, **extra: str) -> dict[str, str]:
    """The environment a worker process needs to build the same app as `app`."""
    config = app.config
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": config["REDIS_URL"],
        "MESSAGEHUB_INSTANCE": config["MESSAGEHUB_INSTANCE"], "SECRET_KEY": config["SECRET_KEY"],
        "MESSAGEHUB_ENCRYPTION_KEYS": ",".join(config["ENCRYPTION_KEYS"]),
        "PUBLIC_BASE_URL": config["PUBLIC_BASE_URL"],
        "WHATSAPP_GRAPH_URL": config["WHATSAPP_GRAPH_URL"], "WHATSAPP_GRAPH_VERSION": config["WHATSAPP_GRAPH_VERSION"],
        "WHATSAPP_GATEWAY_URL": config["WHATSAPP_GATEWAY_URL"] or "",
        "WHATSAPP_GATEWAY_KEY": config["WHATSAPP_GATEWAY_KEY"] or "",
        "SANDBOX_RECEIPT_DELAYS": ",".join(str(d) for d in config["SANDBOX_RECEIPT_DELAYS"]),
    })
    env.update(extra)
    return env


def start_worker(app, queues=ALL_QUEUES, *, scheduler: bool = True, name: str = "worker", **extra_env: str):
    """Start `rq worker -w worker.AppWorker` on `queues`; its output goes to <instance>/<name>.log."""
    rq = str(Path(sys.executable).parent / "rq")
    command = [rq, "worker", "-w", "worker.AppWorker", "--url", app.config["REDIS_URL"], "--path", str(ROOT)]
    if scheduler:
        command.append("--with-scheduler")
    log = open(Path(app.config["MESSAGEHUB_INSTANCE"]) / f"{name}.log", "w")
    # Its own process group: `--with-scheduler` forks a scheduler that must go when the worker goes.
    process = subprocess.Popen([*command, *queues], cwd=ROOT, env=worker_env(app, **extra_env),
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log_file = log
    return process


def wait_for_workers(app, count: int, timeout: float = 90) -> None:
    """Block until `count` workers have registered with Redis (each builds its app first)."""
    from rq import Worker

    connection = app.extensions["messagehub.redis"]
    deadline = time.monotonic() + timeout
    while Worker.count(connection=connection) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} workers did not start within {timeout}s")
        time.sleep(0.1)


def stop_worker(process, sig: int = signal.SIGTERM) -> None:
    """Stop a worker started by `start_worker`, and whatever it forked (SIGKILL to simulate a crash)."""
    _signal_group(process, sig)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()
    _signal_group(process, signal.SIGKILL)  # a scheduler child that outlived its worker
    process.log_file.close()


def _signal_group(process, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def wait_until(predicate, timeout: float, message: str = "condition", interval: float = 0.05):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{message}: not within {timeout}s")
        time.sleep(interval)
    return value
