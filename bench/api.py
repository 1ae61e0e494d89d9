"""REST API throughput under load: GET the contacts list and POST a text message, beside a bare Flask ceiling.

    .venv/bin/python -m bench.api --requests 1000 --concurrency 8 [--rounds 3]

Each round sends the same requests with the same clients to a bare Flask app (the same two routes answering
fixed JSON) and then to MessageHub (a real key, a workspace of --contacts contacts with a linked sandbox),
both under the same gunicorn configuration, and prints requests/s, p50/p99 and the ratio for each request
kind. The messages are queued through the outbox (their send jobs wait in Redis: no worker runs). Uses
DATABASE_URL / REDIS_URL when set, otherwise a throwaway SQLite file and an embedded Redis.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bench.webhooks import Server, gunicorn  # noqa: E402

LIST_PATH = "/api/v1/contacts?limit=25"
SEND_PATH = "/api/v1/conversations/{contact_id}/messages"


def bare_app():
    """The ceiling: the same two routes answering fixed JSON (`gunicorn 'bench.api:bare_app()'`)."""
    from flask import Flask, jsonify, request

    app = Flask("bare")
    page = {"items": [{"id": n, "name": f"Contact {n}", "phone": f"+1415555{n:04d}"} for n in range(25)],
            "next_cursor": "1700000000000000_1"}

    @app.get("/api/v1/contacts")
    def contacts():
        return jsonify(page)

    @app.post("/api/v1/conversations/<int:contact_id>/messages")
    def send(contact_id: int):
        body = request.get_json()
        return jsonify({"id": 1, "contact_id": contact_id, "body": body["message"]["text"], "status": "queued"}), 202

    return app


def prepare(env: dict, contacts: int) -> tuple[str, list[int]]:
    """Migrate; a workspace with `contacts` contacts, its sandbox linked, and a read and write key."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from app import create_app
    from core.enums import ConnectionState
    from extensions import db
    from models import Contact, Tenant
    from models.tenancy import tenant_scope
    from services.accounts import sign_up
    from services.api_keys import create_key
    from services.channels import ensure_channel

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        user = sign_up(f"bench{time.time_ns()}@example.com", "bench-password-1", "Bench")
        tenant = db.session.get(Tenant, user.tenant_id)
        tenant.quota_messages_per_day = tenant.quota_contacts = 10_000_000
        with tenant_scope(user.tenant_id):
            ensure_channel("sandbox").state = ConnectionState.CONNECTED
            rows = [Contact(name=f"Customer {n}", phone=f"+1415{5000000 + n:07d}") for n in range(contacts)]
            db.session.add_all(rows)
            _key, secret = create_key("Bench", ["read", "write"], user.id)
            db.session.commit()
            ids = [row.id for row in rows[:200]]
        if db.engine.dialect.name == "postgresql":
            # Fresh statistics, as autovacuum keeps them in production: the planner then reads the list's index.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("ANALYZE contacts")
        db.session.remove()
        db.engine.dispose()
    return secret, ids


@dataclass
class Run:
    """One pass of every request of one kind against one server."""

    label: str
    count: int
    elapsed: float
    latencies_ms: list[float]
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.count / self.elapsed

    def pct(self, p: float) -> float:
        ms = self.latencies_ms
        return ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))]

    def line(self) -> str:
        return (f"{self.label:>24}: {self.throughput:6.0f} req/s  p50 {self.pct(50):6.1f}  p99 {self.pct(99):6.1f}  "
                f"max {self.latencies_ms[-1]:6.1f} ms  {self.statuses}")


def drive(label: str, server: Server, requests: list[tuple[str, str, bytes | None]], key: str,
          concurrency: int) -> Run:
    """Send every (method, path, body) with `concurrency` keep-alive clients; time each answer."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    clients = [httpx.Client(base_url=server.base, timeout=30, headers=headers) for _ in range(concurrency)]

    def send(i: int) -> None:
        method, path, body = requests[i]
        started = time.perf_counter()
        response = clients[i % concurrency].request(method, path, content=body)
        took = time.perf_counter() - started
        with lock:
            latencies.append(took * 1000)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(send, range(len(requests))))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            client.close()
    return Run(label, len(requests), elapsed, sorted(latencies), statuses)


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests of each kind per round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--contacts", type=int, default=10_000, help="contacts in the workspace")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--rounds", type=int, default=1, help="bare + MessageHub passes; medians over them")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mh-bench-"))
    redis_server = None
    env = {"MESSAGEHUB_INSTANCE": str(tmp), "SECRET_KEY": "bench-" + "k" * 40,
           "MESSAGEHUB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}",
           # The bench measures the API, not its limits.
           "API_LIMIT_PER_KEY": "10000000 per minute", "API_LIMIT_PER_WORKSPACE": "10000000 per minute"}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    else:
        from embedded_redis import start_embedded_redis

        redis_server, env["REDIS_URL"] = start_embedded_redis(tmp)
    runs: dict[str, list[Run]] = {}
    try:
        key, contact_ids = prepare(env, args.contacts)
        kinds = {
            "GET contacts": [("GET", LIST_PATH, None)] * args.requests,
            "POST message": [("POST", SEND_PATH.format(contact_id=contact_ids[n % len(contact_ids)]),
                              json.dumps({"message": {"type": "text", "text": f"Order {n} is ready"}}).encode())
                             for n in range(args.requests)],
        }
        for _ in range(args.rounds):
            for spec, server_label in (("bench.api:bare_app()", "bare Flask"), ("wsgi:app", "MessageHub")):
                with gunicorn(spec, env, args.workers, args.threads) as server:
                    for kind, requests in kinds.items():
                        run = drive(f"{server_label} {kind}", server, requests, key, args.concurrency)
                        runs.setdefault(run.label, []).append(run)
                        print(run.line(), flush=True)
    finally:
        if redis_server is not None:
            redis_server.shutdown(nosave=True)

    database = env["DATABASE_URL"].split(":", 1)[0]
    print(f"api: {args.requests} requests of each kind, concurrency {args.concurrency}, {args.contacts} contacts, "
          f"gunicorn {args.workers}x{args.threads} gthread, {database}, {args.rounds} round(s); medians:")
    for kind in ("GET contacts", "POST message"):
        bare, hub = runs[f"bare Flask {kind}"], runs[f"MessageHub {kind}"]
        bare_rps, hub_rps = (statistics.median(r.throughput for r in rs) for rs in (bare, hub))
        bare_p99, hub_p99 = (statistics.median(r.pct(99) for r in rs) for rs in (bare, hub))
        print(f"{kind}: bare Flask {bare_rps:.0f} req/s (p99 {bare_p99:.1f} ms), MessageHub {hub_rps:.0f} req/s "
              f"(p99 {hub_p99:.1f} ms), ratio {hub_rps / bare_rps:.2f}")
    expected = {"GET contacts": 200, "POST message": 202}
    return 0 if all(set(r.statuses) == {code} for kind, code in expected.items() for label, rs in runs.items()
                    if label.endswith(kind) for r in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
