"""Webhook answer time under load: N signed Cloud API posts against gunicorn, printed as figures.

    .venv/bin/python -m bench.webhooks --posts 1000 --concurrency 8

Uses DATABASE_URL / REDIS_URL when set, otherwise a throwaway SQLite file and an embedded Redis.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

APP_SECRET = "0123456789abcdef0123456789abcdef"
PHONE_ID = "106540352242922"


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
    return path


def body(n: int) -> bytes:
    """A realistic inbound text webhook."""
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": f"Customer {n}"}, "wa_id": f"1415555{n % 10000:04d}"}],
        "messages": [{"from": f"1415555{n % 10000:04d}", "id": f"wamid.bench{n}-{time.time_ns()}",
                      "timestamp": str(int(time.time())), "type": "text", "text": {"body": f"hello {n}"}}]}}]}]}).encode()


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
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
    path = prepare(env)
    port = 5123
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen([gunicorn, "-w", str(args.workers), "-k", "gthread", "--threads", "4", "-b",
                               f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                              cwd=ROOT, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with httpx.Client(timeout=10) as client:
            for _ in range(100):
                try:
                    client.get(f"http://127.0.0.1:{port}/login")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
        bodies = [body(n) for n in range(args.posts)]
        signatures = [sign_payload(APP_SECRET, b) for b in bodies]
        latencies: list[float] = []
        statuses: dict[int, int] = {}

        def post(i: int, client: httpx.Client) -> None:
            started = time.perf_counter()
            response = client.post(url, content=bodies[i], headers={"Content-Type": "application/json",
                                                                   "X-Hub-Signature-256": signatures[i]})
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        clients = [httpx.Client(timeout=10) for _ in range(args.concurrency)]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(lambda i: post(i, clients[i % args.concurrency]), range(args.posts)))
        elapsed = time.perf_counter() - started
        for c in clients:
            c.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        if redis_server is not None:
            redis_server.shutdown(nosave=True)

    ms = sorted(x * 1000 for x in latencies)
    pct = lambda p: ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))]  # noqa: E731
    database = env["DATABASE_URL"].split(":", 1)[0]
    print(f"webhook posts: {args.posts} signed Cloud API bodies, concurrency {args.concurrency}, "
          f"gunicorn {args.workers}x4 threads, {database}")
    print(f"status codes: {statuses}")
    print(f"throughput: {args.posts / elapsed:.0f} posts/s over {elapsed:.2f} s")
    print(f"answer time ms: p50 {pct(50):.1f}  p90 {pct(90):.1f}  p99 {pct(99):.1f}  max {ms[-1]:.1f}  "
          f"mean {statistics.mean(ms):.1f}")
    return 0 if set(statuses) == {200} else 1


if __name__ == "__main__":
    sys.exit(main())
