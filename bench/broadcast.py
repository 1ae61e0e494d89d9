"""Broadcast sending engine: N recipients through real `rq worker` processes against the fake Graph API.

    DATABASE_URL=postgresql://... REDIS_URL=redis://.../n \\
    .venv/bin/python -m bench.broadcast --recipients 2000 --rate 80 --latency 0.1 --workers 2
    .venv/bin/python -m bench.broadcast --recipients 10000 --rate 80          # the 0.95 x 80 target
    .venv/bin/python -m bench.broadcast --recipients 20000 --rate 1000 --bare  # against a bare asyncio loop
    .venv/bin/python -m bench.broadcast --recipients 0 --snapshot 100000       # the snapshot alone

Prints achieved msg/s against the channel's cap, the provider's duplicates, p50/p99 from queued to
sent, the workers' CPU, and (with --bare) what a bare asyncio + aiohttp loop pushes into the same
fake in the same run; with --snapshot N, the time to snapshot N recipients. Uses DATABASE_URL /
REDIS_URL when set (PostgreSQL + Redis is what the targets are for), else SQLite and an embedded Redis;
the Redis database is flushed first, so give it one of its own.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


PHONE_ID, WABA_ID, TOKEN = "106540352242922", "102290129340398", "EAAG" + "d" * 40
TICKS = os.sysconf("SC_CLK_TCK")


STALL_SECONDS = 15  # counts standing still this long while recipients are left: a job chain was lost


def make_tenant(app, rate: float, contacts: int, label: str, first_phone: int = 4155000000) -> int:
    """A tenant with a connected Cloud channel at `rate` and `contacts` contacts in the window (one INSERT)."""
    from sqlalchemy import insert

    from extensions import db
    from models import Contact
    from models.base import utcnow
    from models.tenancy import tenant_scope
    from services.accounts import sign_up
    from services.channels import set_state
    from services.linking import save_cloud_credentials
    from whatsapp.base import ConnectionState

    with app.app_context():
        user = sign_up(f"{label}{time.time_ns()}@example.com", "bench-password-1", f"Broadcast bench {label}")
        user.tenant.quota_messages_per_day = max(10_000, contacts)  # the default daily quota would refuse more
        with tenant_scope(user.tenant_id):
            channel = save_cloud_credentials(PHONE_ID, WABA_ID, TOKEN, "0123456789abcdef0123456789abcdef")
            channel.rate_per_second = rate
            set_state(channel, ConnectionState.CONNECTED)
            db.session.commit()
            now = utcnow()
            for start in range(0, contacts, 10_000):
                db.session.execute(insert(Contact), [
                    {"tenant_id": user.tenant_id, "name": f"Customer {n}", "phone": f"+1{first_phone + n}",
                     "custom_fields": {}, "opted_out": False, "last_inbound_at": now, "created_at": now,
                     "updated_at": now} for n in range(start, min(contacts, start + 10_000))])
            db.session.commit()
        return user.tenant_id


def start_broadcast(app, tenant_id: int) -> tuple[int, float]:
    """Save and confirm a broadcast to every contact; returns (id, seconds the confirm with its snapshot took)."""
    from extensions import db
    from models.tenancy import tenant_scope
    from services.broadcasts import confirm, save_broadcast

    with app.app_context(), tenant_scope(tenant_id):
        broadcast = save_broadcast({"name": "Bench", "body": "Hi {{first_name}}, 20% off today",
                                    "audience": {"kind": "all"}})
        db.session.commit()
        started = time.perf_counter()
        confirm(broadcast)
        db.session.commit()
        return broadcast.id, time.perf_counter() - started


def analyze(app) -> None:
    """Refresh the planner's statistics (autovacuum may be off on a bench server; PostgreSQL only)."""
    from extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE contacts, messages, broadcast_recipients")


def progress(app, tenant_id: int, broadcast_id: int) -> tuple[dict, list[float], float | None]:
    """(recipient states, seconds queued -> sent of each sent message, each sent_at) so far."""
    from sqlalchemy import func, select

    from extensions import db
    from models import BroadcastRecipient, Message
    from models.tenancy import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        states = dict(db.session.execute(select(BroadcastRecipient.state, func.count(BroadcastRecipient.id))
                                         .where(BroadcastRecipient.broadcast_id == broadcast_id)
                                         .group_by(BroadcastRecipient.state)).all())
        rows = db.session.execute(select(Message.created_at, Message.sent_at).where(Message.sent_at.is_not(None))).all()
        db.session.remove()
    waits = [(sent - created).total_seconds() for created, sent in rows]
    return states, waits, [sent for _c, sent in rows]


def steady_rate(sent_at: list) -> float:
    """Messages per second between the 10th and the 90th percentile of the send times (start-up and tail left out)."""
    times = sorted(t.timestamp() for t in sent_at)
    if len(times) < 100:
        return float("nan")
    low, high = times[len(times) // 10], times[len(times) * 9 // 10]
    return (len(times) * 8 // 10) / max(high - low, 1e-9)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / TICKS


def bare_loop(url: str, count: int, concurrency: int) -> float:
    """What a bare asyncio + aiohttp loop pushes into the fake: requests/s with `concurrency` in flight."""
    import aiohttp

    async def main() -> float:
        semaphore = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                         headers={"Authorization": f"Bearer {TOKEN}"}) as session:
            async def one(n: int) -> None:
                body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": f"1999{n:08d}",
                        "type": "text", "text": {"preview_url": False, "body": "bare"}}
                async with semaphore, session.post(url, json=body) as response:
                    await response.read()
            started = time.perf_counter()
            await asyncio.gather(*(one(n) for n in range(count)))
            return count / (time.perf_counter() - started)

    return asyncio.run(main())


def report_stall(tenant_id: int, broadcast_id: int, since: float) -> None:
    """Print what Redis holds for a broadcast whose counts stood still for STALL_SECONDS."""
    from bench.stall import describe
    from services.broadcasts.lifecycle import feeder_key
    from services.queueing import ALL_QUEUES

    print(f"STALLED: no recipient moved for {time.time() - since:.0f} s")
    for line in describe(os.environ["REDIS_URL"], feeder_key(tenant_id, broadcast_id), list(ALL_QUEUES)):
        print(line)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=80.0, help="the channel's configured messages/s (the cap)")
    parser.add_argument("--latency", type=float, default=0.1, help="fake Graph API answer time, seconds")
    parser.add_argument("--workers", type=int, default=2, help="rq worker processes (the first runs the scheduler)")
    parser.add_argument("--bare", action="store_true", help="also measure a bare asyncio loop against the fake")
    parser.add_argument("--snapshot", type=int, default=0, help="also time snapshotting this many recipients")
    parser.add_argument("--fairness", type=float, default=0, metavar="SECONDS",
                        help="this many seconds in, another workspace queues a reply and starts a broadcast")
    parser.add_argument("--analyze", action="store_true",
                        help="ANALYZE after the snapshot (a workspace the planner's statistics already know)")
    args = parser.parse_args()

    from bench.environment import use_fake_graph
    from tests.fakes import FakeGraphAPI

    tmp = Path(tempfile.mkdtemp(prefix="mh-broadcast-"))
    with FakeGraphAPI(latency=args.latency) as graph:
        graph.add_phone_number(PHONE_ID, TOKEN, waba_id=WABA_ID)
        redis_server = use_fake_graph(tmp, graph)
        from redis import Redis

        # Jobs and paces left by earlier runs would muddle the figures.
        Redis.from_url(os.environ["REDIS_URL"]).flushdb()
        from flask_migrate import upgrade

        from app import create_app

        app = create_app()
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        database = os.environ["DATABASE_URL"].split(":", 1)[0]
        print(f"broadcast bench on {database}, fake Graph API latency {args.latency * 1000:.0f} ms, "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")

        if args.snapshot:
            tenant = make_tenant(app, args.rate, args.snapshot, "snapshot")
            broadcast_id, took = start_broadcast(app, tenant)
            print(f"snapshot: {args.snapshot} recipients in {took:.2f} s (target < 5 s for 100,000)")
            with app.app_context():
                from extensions import db
                from models import Broadcast
                from models.tenancy import tenant_scope
                from services.broadcasts import cancel

                with tenant_scope(tenant):
                    cancel(db.session.get(Broadcast, broadcast_id))  # its feeder finds it cancelled
                    db.session.commit()

        if args.recipients:
            tenant = make_tenant(app, args.rate, args.recipients, "send")
            rq = str(Path(sys.executable).parent / "rq")
            from services.queueing import ALL_QUEUES

            workers = [subprocess.Popen([rq, "worker", "-w", "worker.AppWorker", "--url", os.environ["REDIS_URL"],
                                         "--path", str(ROOT), *(["--with-scheduler"] if n == 0 else []),
                                         "--logging_level", "WARNING", *ALL_QUEUES],
                                        cwd=ROOT, env=dict(os.environ)) for n in range(args.workers)]
            try:
                from bench.outbox import wait_for_workers

                wait_for_workers(os.environ["REDIS_URL"], args.workers)
                cpu_before = cpu_seconds([w.pid for w in workers])
                broadcast_id, _took = start_broadcast(app, tenant)
                if args.analyze:
                    analyze(app)
                started = time.time()
                deadline = started + max(120, 3 * args.recipients / args.rate)
                other, last_states, still_since = None, None, time.time()
                while time.time() < deadline:
                    if args.fairness and other is None and time.time() - started >= args.fairness:
                        from bench.fairness import arrive

                        other = arrive(app, args.rate)
                    states, waits, sent_times = progress(app, tenant, broadcast_id)
                    if not states.get("queued") and not states.get("sending"):
                        break
                    if states != last_states:
                        last_states, still_since = states, time.time()
                    elif still_since and time.time() - still_since > STALL_SECONDS:
                        report_stall(tenant, broadcast_id, still_since)
                        still_since = None  # once a run
                    time.sleep(0.5)
                cpu = cpu_seconds([w.pid for w in workers]) - cpu_before
                if other is not None:
                    from bench.fairness import waits as other_waits

                    reply_wait, broadcast_wait = other_waits(app, other)
            finally:
                for worker in workers:
                    worker.terminate()
                for worker in workers:
                    worker.wait(timeout=15)
            sent = states.get("sent", 0)
            elapsed = (max(sent_times).timestamp() - started) if sent_times else float("nan")
            # The same content to the same number twice is a duplicate (a reply and a broadcast to one number is not).
            to = [(body["to"], json.dumps(body.get(body["type"]), sort_keys=True)) for body in graph.sent]
            achieved = sent / elapsed
            print(f"sent {sent} of {args.recipients} ({states}); provider received {len(to)}, "
                  f"duplicates {len(to) - len(set(to))}")
            print(f"achieved {achieved:.1f} msg/s over {elapsed:.1f} s at a cap of {args.rate:g}/s "
                  f"({achieved / args.rate:.2f} x the cap)")
            steady = steady_rate(sent_times)
            print(f"steady state (10th to 90th percentile of sends): {steady:.1f} msg/s "
                  f"({steady / args.rate:.2f} x the cap)")
            print(f"queued -> sent: p50 {pct(waits, 50):.2f} s, p99 {pct(waits, 99):.2f} s")
            print(f"worker CPU: {cpu:.1f} s over {elapsed:.1f} s = {cpu / elapsed:.2f} cores "
                  f"({args.workers} workers, {1000 * cpu / max(sent, 1):.2f} ms per message)")
            if other is not None:
                shown = ["never" if w is None else f"{w:.2f} s" for w in (reply_wait, broadcast_wait)]
                print(f"another workspace, arriving {args.fairness:g} s in: its inbox reply was sent after {shown[0]}, "
                      f"its broadcast's first message after {shown[1]} (target: a few seconds)")
            if args.bare:
                url = f"{graph.url}/{graph.api_version}/{PHONE_ID}/messages"
                count = max(2000, min(args.recipients, 10_000))
                bare = bare_loop(url, count, concurrency=max(50, int(args.rate * args.latency * 2)))
                ceiling = min(bare, args.rate)
                print(f"bare asyncio + aiohttp loop into the same fake: {bare:.0f} requests/s; the engine reached "
                      f"{achieved / bare:.2f} x that, {achieved / ceiling:.2f} x the lesser of it and the cap "
                      f"({ceiling:.0f}/s), {steady / ceiling:.2f} x in its steady state (target >= 0.8 at cap 1,000)")
        if redis_server is not None:
            redis_server.shutdown(nosave=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
