"""Drip sweep: N active enrolments with one step due now across W workspaces, each on a Cloud number.

    DATABASE_URL=postgresql://... REDIS_URL=redis://.../n \
        .venv/bin/python -m bench.drips --enrolments 100000 --workspaces 10 --workers 4

Prints how long the due sweep takes to queue every step through the outbox (no workers running, so the
figure is the sweep alone), then the messages/s the RQ workers reach against the fake Graph API with each
workspace's channel capped at --rate per second. Uses DATABASE_URL / REDIS_URL when set, otherwise SQLite
and an embedded Redis (PostgreSQL is what the figures are quoted for).
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


from bench.outbox import wait_for_workers  # noqa: E402

WABA_ID, TOKEN = "102290129340398", "EAAG" + "b" * 40
CHUNK = 5000


def phone_id(n: int) -> str:
    return f"1065403522{n:05d}"


def prepare(workspaces: int, enrolments: int, rate: float) -> tuple[object, list[int]]:
    """Migrate; per workspace a connected Cloud channel, contacts in the window, a one-step sequence, and
    enrolments whose step is due now, inserted in bulk."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app import create_app
    from extensions import db
    from models import Contact, DripEnrolment
    from models.base import utcnow
    from models.tenancy import tenant_scope
    from services.accounts import sign_up
    from services.channels import set_state
    from services.drips.sequences import SequenceInput, save_sequence, save_step
    from services.linking import save_cloud_credentials
    from whatsapp.base import ConnectionState

    app = create_app()
    tenants = []
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        stamp = time.time_ns()
        for w in range(workspaces):
            user = sign_up(f"drips{stamp}-{w}@example.com", "bench-password-1", f"Drip bench {w}")
            tenant_id = user.tenant_id
            with tenant_scope(tenant_id):
                channel = save_cloud_credentials(phone_id(w), WABA_ID, TOKEN, "0123456789abcdef0123456789abcdef")
                channel.rate_per_second = rate
                set_state(channel, ConnectionState.CONNECTED)
                sequence = save_sequence(SequenceInput(name="Bench"))
                step = save_step(sequence, {"delay_value": 0, "delay_unit": "minutes", "delay_from": "previous",
                                            "content": "text", "body": "Hi {{first_name|there}}, welcome!"})
                db.session.commit()
                share = enrolments // workspaces + (1 if w < enrolments % workspaces else 0)
                now = utcnow()
                for start in range(0, share, CHUNK):
                    count = min(CHUNK, share - start)
                    ids = list(db.session.scalars(insert(Contact).returning(Contact.id), [
                        {"tenant_id": tenant_id, "name": f"Bench {w}-{n}", "phone": f"+1{w:02d}5{n:07d}",
                         "custom_fields": {}, "opted_out": False, "last_inbound_at": now}
                        for n in range(start, start + count)]))
                    db.session.execute(insert(DripEnrolment), [
                        {"tenant_id": tenant_id, "sequence_id": sequence.id, "contact_id": cid, "state": "active",
                         "source": "manual", "current_step_id": step.id, "next_step_at": now, "enrolled_at": now,
                         "anchor_at": now} for cid in ids])
                    db.session.commit()
            tenants.append(tenant_id)
    return app, tenants


def count_messages(app, tenants: list[int]) -> tuple[int, int, int]:
    """(queued or sending, sent or later, failed) drip messages over the workspaces."""
    from sqlalchemy import func, select

    from extensions import db
    from models import Message
    from models.tenancy import tenant_scope

    waiting = sent = failed = 0
    with app.app_context():
        for tenant_id in tenants:
            with tenant_scope(tenant_id):
                for status, number in db.session.execute(select(Message.status, func.count(Message.id))
                                                         .where(Message.origin == "drip").group_by(Message.status)):
                    if status in ("queued", "sending"):
                        waiting += number
                    elif status == "failed":
                        failed += number
                    else:
                        sent += number
        db.session.remove()
    return waiting, sent, failed


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enrolments", type=int, default=10_000)
    parser.add_argument("--workspaces", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=80.0, help="messages/s cap of each workspace's number")
    parser.add_argument("--latency", type=float, default=0.02, help="fake Graph API answer time, seconds")
    args = parser.parse_args()

    from bench.environment import use_fake_graph
    from tests.fakes import FakeGraphAPI

    tmp = Path(tempfile.mkdtemp(prefix="mh-drips-"))
    with FakeGraphAPI(latency=args.latency) as graph:
        for w in range(args.workspaces):
            graph.add_phone_number(phone_id(w), TOKEN, waba_id=WABA_ID)
        redis_server = use_fake_graph(tmp, graph)
        app, tenants = prepare(args.workspaces, args.enrolments, args.rate)

        from jobs.context import set_worker_app
        from jobs.drips import send_due_steps

        set_worker_app(app)
        began, sweeps, totals = time.time(), 0, {}
        while True:  # a sweep stops after its rounds; the cron runs it again a minute later
            counts = send_due_steps()
            sweeps += 1
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            if not counts.get("queued"):
                break
        sweep_seconds = time.time() - began
        queued = totals.get("queued", 0)

        rq = str(Path(sys.executable).parent / "rq")
        from services.queueing import ALL_QUEUES

        workers = [subprocess.Popen([rq, "worker", "-w", "worker.AppWorker", "--url", os.environ["REDIS_URL"],
                                     "--path", str(ROOT), "--with-scheduler", "--logging_level", "WARNING",
                                     *ALL_QUEUES], cwd=ROOT, env=dict(os.environ))
                   for _ in range(args.workers)]
        try:
            wait_for_workers(os.environ["REDIS_URL"], args.workers)
            started = time.time()
            deadline = started + 1800
            while time.time() < deadline:
                waiting, sent, failed = count_messages(app, tenants)
                if not waiting:
                    break
                time.sleep(1)
            finished = time.time()
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=15)
            if redis_server is not None:
                redis_server.shutdown(nosave=True)
        provider = len(graph.sent)

    database = os.environ["DATABASE_URL"].split(":", 1)[0]
    elapsed = finished - started
    print(f"drips: {args.enrolments} active enrolments with one step due, {args.workspaces} workspaces, {database}")
    print(f"sweep: queued {queued} steps through the outbox in {sweep_seconds:.1f} s "
          f"({queued / sweep_seconds:.0f} steps/s, {sweeps} sweep run{'s' if sweeps != 1 else ''})")
    print(f"send: {args.workers} rq workers, cap {args.rate:g}/s per workspace "
          f"({args.rate * args.workspaces:g}/s in all), fake Graph API latency {args.latency * 1000:.0f} ms")
    print(f"sent {sent}, failed {failed}, provider received {provider} (duplicates: {provider - sent}); "
          f"{sent / elapsed:.1f} messages/s over {elapsed:.1f} s "
          f"({100 * sent / elapsed / (args.rate * args.workspaces):.0f}% of the combined cap)")
    return 0 if queued == args.enrolments and sent == queued and provider == sent else 1


if __name__ == "__main__":
    sys.exit(main())
