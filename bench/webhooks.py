"""Webhook answer time under load: N signed Cloud API posts against gunicorn, beside a bare Flask ceiling.

    .venv/bin/python -m bench.webhooks --posts 1000 --concurrency 8 [--rounds 3]

Each round posts the same bodies with the same client to a bare Flask app (one route that reads the
body and answers OK) and then to MessageHub, both under the same gunicorn configuration, and prints
both figures and their ratio; with several rounds the medians are printed too, since other processes
on the machine move single runs a lot. Uses DATABASE_URL / REDIS_URL when set, otherwise a throwaway
SQLite file and an embedded Redis.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

APP_SECRET = "0123456789abcdef0123456789abcdef"
PHONE_ID = "106540352242922"
# Issue 7's targets for MessageHub against the bare app measured in the same run.
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0


def bare_app():
    """The ceiling: a Flask app whose webhook route only reads the body (`gunicorn 'bench.webhooks:bare_app()'`)."""
    from flask import Flask, request

    app = Flask("bare")

    @app.post("/webhooks/cloud/<token>")
    def cloud_event(token: str):
        request.get_data()
        return "OK", 200

    return app


def prepare(env: dict) -> str:
    """Migrate, create a tenant with Cloud credentials, return its webhook path."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from models.tenancy import tenant_scope
    from services.accounts import sign_up
    from services.linking import save_cloud_credentials

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        user = sign_up(f"bench{time.time_ns()}@example.com", "bench-password-1", "Bench")
        with tenant_scope(user.tenant_id):
            channel = save_cloud_credentials(PHONE_ID, "102290129340398", "EAAG" + "x" * 40, APP_SECRET)
            path = f"/webhooks/cloud/{channel.webhook_token}"
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return path


def body(n: int) -> bytes:
    """A realistic inbound text webhook."""
    wa_id = f"1415555{n % 10000:04d}"
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": f"Customer {n}"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": f"wamid.bench{n}-{time.time_ns()}", "timestamp": str(int(time.time())),
                      "type": "text", "text": {"body": f"hello {n}"}}],
    }
    change = {"field": "messages", "value": value}
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}).encode()


def free_port() -> int:
    """A loopback port nobody listens on (two benches on one machine must not collide)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workers_cpu_seconds(master_pid: int) -> float | None:
    """CPU seconds used so far by the gunicorn master's worker processes (Linux /proc; None elsewhere).

    Throughput on a shared machine moves with everything else running on it; the server's own CPU
    per post moves much less, so it is printed beside the throughput.
    """
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        total = 0
        for pid in children:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Server:
    """A running gunicorn: where it answers and how to read its workers' CPU time."""

    base: str
    pid: int

    def cpu_seconds(self) -> float | None:
        return workers_cpu_seconds(self.pid)


@contextmanager
def gunicorn(app_spec: str, env: dict, workers: int, threads: int) -> Iterator[Server]:
    """Serve `app_spec` under gunicorn (gthread) until the block ends; yields it once it answers."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-k", "gthread",
               "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_spec]
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=10) as client:
            for _ in range(300):
                try:
                    client.get(f"{base}/")  # any answer, 404 included, means a worker is serving
                    break
                except httpx.TransportError:
                    if server.poll() is not None:
                        raise RuntimeError(f"gunicorn {app_spec} exited with {server.returncode}") from None
                    time.sleep(0.1)
        time.sleep(1)  # let every worker finish booting, so the first posts do not time app startup
        yield Server(base, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclass
class Run:
    """Figures of one pass of every post against one server."""

    label: str
    posts: int
    elapsed: float
    latencies_ms: list[float]
    statuses: dict[int, int] = field(default_factory=dict)
    server_cpu_ms: float | None = None  # gunicorn workers' CPU per post

    @property
    def throughput(self) -> float:
        return self.posts / self.elapsed

    def pct(self, p: float) -> float:
        ms = self.latencies_ms
        return ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))]

    def line(self) -> str:
        ms = self.latencies_ms
        cpu = "" if self.server_cpu_ms is None else f"  server CPU {self.server_cpu_ms:4.2f} ms/post"
        return (f"{self.label:>10}: {self.throughput:6.0f} posts/s  p50 {self.pct(50):5.1f}  p90 {self.pct(90):5.1f}  "
                f"p99 {self.pct(99):5.1f}  max {ms[-1]:6.1f}  mean {statistics.mean(ms):5.1f} ms{cpu}  {self.statuses}")


def drive(label: str, server: Server, path: str, bodies: list[bytes], signatures: list[str], concurrency: int) -> Run:
    """Post every body with `concurrency` keep-alive clients; time each answer and the server's CPU."""
    url = server.base + path
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    clients = [httpx.Client(timeout=10) for _ in range(concurrency)]

    def post(i: int) -> None:
        client = clients[i % concurrency]
        started = time.perf_counter()
        response = client.post(url, content=bodies[i], headers={"Content-Type": "application/json",
                                                               "X-Hub-Signature-256": signatures[i]})
        took = time.perf_counter() - started
        with lock:
            latencies.append(took * 1000)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    try:
        cpu_before = server.cpu_seconds()
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(post, range(len(bodies))))
        elapsed = time.perf_counter() - started
        cpu_after = server.cpu_seconds()
    finally:
        for client in clients:
            client.close()
    cpu = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000 / len(bodies)
    return Run(label, len(bodies), elapsed, sorted(latencies), statuses, cpu)


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--rounds", type=int, default=1, help="bare + MessageHub passes; medians over them")
    args = parser.parse_args()

    from whatsapp.signature import sign_payload

    tmp = Path(tempfile.mkdtemp(prefix="mh-bench-"))
    redis_server = None
    env = {"MESSAGEHUB_INSTANCE": str(tmp), "SECRET_KEY": "bench-" + "k" * 40,
           "MESSAGEHUB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    else:
        from embedded_redis import start_embedded_redis

        redis_server, env["REDIS_URL"] = start_embedded_redis(tmp)
    bare_runs: list[Run] = []
    app_runs: list[Run] = []
    try:
        path = prepare(env)
        for _ in range(args.rounds):
            # Fresh bodies each round: message ids stay unique, as Meta's are.
            bodies = [body(n) for n in range(args.posts)]
            signatures = [sign_payload(APP_SECRET, b) for b in bodies]
            with gunicorn("bench.webhooks:bare_app()", env, args.workers, args.threads) as server:
                bare_runs.append(drive("bare Flask", server, path, bodies, signatures, args.concurrency))
            with gunicorn("wsgi:app", env, args.workers, args.threads) as server:
                app_runs.append(drive("MessageHub", server, path, bodies, signatures, args.concurrency))
            print(bare_runs[-1].line(), app_runs[-1].line(), sep="\n", flush=True)
    finally:
        if redis_server is not None:
            redis_server.shutdown(nosave=True)

    database = env["DATABASE_URL"].split(":", 1)[0]
    bare = statistics.median(r.throughput for r in bare_runs)
    hub = statistics.median(r.throughput for r in app_runs)
    p99 = statistics.median(r.pct(99) for r in app_runs)
    print(f"webhook posts: {args.posts} signed Cloud API bodies, concurrency {args.concurrency}, "
          f"gunicorn {args.workers}x{args.threads} gthread, {database}, {args.rounds} round(s)")
    bare_p99 = statistics.median(r.pct(99) for r in bare_runs)
    print(f"median throughput: bare Flask {bare:.0f} posts/s (p99 {bare_p99:.1f} ms), "
          f"MessageHub {hub:.0f} posts/s (p99 {p99:.1f} ms)")
    print(f"ratio MessageHub / bare: {hub / bare:.2f} (target >= {TARGET_RATIO}); "
          f"MessageHub p99 {p99:.1f} ms (target <= {TARGET_P99_MS:.0f})")
    if all(r.server_cpu_ms is not None for r in bare_runs + app_runs):
        bare_cpu = statistics.median(r.server_cpu_ms for r in bare_runs)
        hub_cpu = statistics.median(r.server_cpu_ms for r in app_runs)
        print(f"median server CPU per post: bare Flask {bare_cpu:.2f} ms, MessageHub {hub_cpu:.2f} ms "
              f"(the database's and Redis's own CPU not included)")
    return 0 if all(set(r.statuses) == {200} for r in bare_runs + app_runs) else 1


if __name__ == "__main__":
    sys.exit(main())
