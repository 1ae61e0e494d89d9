"""Outbox throughput: N single messages through real RQ workers against the fake Graph API.

    .venv/bin/python -m bench.outbox --messages 500 --workers 4 --rate 80 --latency 0.05

Prints messages/s achieved against the configured per-channel rate and the p50/p99 time from
queued to sent. Uses DATABASE_URL / REDIS_URL when set, otherwise SQLite and an embedded Redis.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


PHONE_ID, WABA_ID, TOKEN = "106540352242922", "102290129340398", "EAAG" + "b" * 40


def prepare(rate: float, count: int) -> tuple[object, int]:
    """Migrate; create a tenant with a connected Cloud channel and `count` contacts in the window."""
    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from models import Contact
    from models.base import utcnow
    from models.tenancy import tenant_scope
    from services.accounts import sign_up
    from services.channels import set_state
    from services.linking import save_cloud_credentials
    from whatsapp.base import ConnectionState

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        user = sign_up(f"outbox{time.time_ns()}@example.com", "bench-password-1", "Outbox bench")
        with tenant_scope(user.tenant_id):
            channel = save_cloud_credentials(PHONE_ID, WABA_ID, TOKEN, "0123456789abcdef0123456789abcdef")
            channel.rate_per_second = rate
            set_state(channel, ConnectionState.CONNECTED)
            db.session.add_all(Contact(name=f"Bench {n}", phone=f"+1415{5550000 + n:07d}", last_inbound_at=utcnow())
                               for n in range(count))
            db.session.commit()
        return app, user.tenant_id


def queue_all(app, tenant_id: int) -> float:
    """Queue one text per contact in one transaction; returns when they were committed."""
    from sqlalchemy import select

    from extensions import db
    from models import Contact
    from models.tenancy import tenant_scope
    from services.outbox import queue_text

    with app.app_context(), tenant_scope(tenant_id):
        for contact in db.session.scalars(select(Contact)):
            queue_text(contact, f"Hello {contact.name}, your order is on its way.")
        db.session.commit()
    return time.time()


def progress(app, tenant_id: int, committed_at: float) -> tuple[int, int, list[float]]:
    """(sent, failed, seconds from the queueing commit to sent) so far.

    Measured from the commit, when the jobs become visible to workers, not from each row's
    created_at: creating a thousand rows takes a while and is not the outbox's latency.
    """
    from sqlalchemy import select

    from extensions import db
    from models import Message
    from models.tenancy import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        rows = db.session.execute(select(Message.status, Message.created_at, Message.sent_at)).all()
        db.session.remove()
    sent = [s.timestamp() - committed_at for status, _c, s in rows if status == "sent" and s]
    return len(sent), sum(1 for r in rows if r[0] == "failed"), sent


def wait_for_workers(redis_url: str, count: int, timeout: float = 60) -> None:
    """Block until `count` workers have registered with Redis (each builds its app first)."""
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(redis_url)
    deadline = time.time() + timeout
    while Worker.count(connection=connection) < count and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=80.0, help="configured messages/s for the channel")
    parser.add_argument("--latency", type=float, default=0.05, help="fake Graph API answer time, seconds")
    args = parser.parse_args()

    from bench.environment import use_fake_graph
    from tests.fakes import FakeGraphAPI

    tmp = Path(tempfile.mkdtemp(prefix="mh-outbox-"))
    with FakeGraphAPI(latency=args.latency) as graph:
        graph.add_phone_number(PHONE_ID, TOKEN, waba_id=WABA_ID)
        redis_server = use_fake_graph(tmp, graph)
        app, tenant_id = prepare(args.rate, args.messages)
        rq = str(Path(sys.executable).parent / "rq")
        from services.queueing import ALL_QUEUES

        workers = [subprocess.Popen([rq, "worker", "-w", "worker.AppWorker", "--url", os.environ["REDIS_URL"],
                                     "--path", str(ROOT), "--with-scheduler", "--logging_level", "WARNING",
                                     *ALL_QUEUES],
                                    cwd=ROOT, env=dict(os.environ)) for _ in range(args.workers)]
        try:
            wait_for_workers(os.environ["REDIS_URL"], args.workers)  # the clock starts with every worker ready
            started = queue_all(app, tenant_id)
            deadline = started + 600
            while time.time() < deadline:
                sent, failed, latencies = progress(app, tenant_id, started)
                if sent + failed >= args.messages:
                    break
                time.sleep(0.25)
            finished = time.time()
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=15)
            if redis_server is not None:
                redis_server.shutdown(nosave=True)
        provider_sent = len(graph.sent)

    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))]
    elapsed = finished - started
    database = os.environ["DATABASE_URL"].split(":", 1)[0]
    print(f"outbox: {args.messages} messages, {args.workers} rq workers, configured rate {args.rate:g}/s, "
          f"fake Graph API latency {args.latency * 1000:.0f} ms, {database}")
    print(f"sent {sent}, failed {failed}, provider received {provider_sent} (duplicates: {provider_sent - sent})")
    print(f"achieved: {sent / elapsed:.1f} messages/s over {elapsed:.1f} s "
          f"({100 * sent / elapsed / args.rate:.0f}% of the configured rate)")
    print(f"commit -> sent: p50 {pct(50):.2f} s  p99 {pct(99):.2f} s  max {latencies[-1]:.2f} s")
    return 0 if sent == args.messages and provider_sent == sent else 1


if __name__ == "__main__":
    sys.exit(main())
