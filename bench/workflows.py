"""Workflows under load: inbound messages across workspaces, each workspace with five workflows.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mh_bench_wf REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python -m bench.workflows [--messages 10000 --workspaces 10 --workers 2 --batch 20]

Each workspace gets a sandbox channel and five workflows (keyword "price" -> add tag; keyword "order" -> set
a field; pattern hello|hi -> create a task; any message, if the contact lacks tag vip -> set a field; keyword
"buy", if the contact has tag lead -> add tag). Messages go in through the real inbound path
(services.inbound.apply_events, `--batch` messages per delivery, workspaces in turn), which stores them with
their message.received events; real `rq worker` processes dispatch the events, start the runs and advance
them. Prints the feed rate, events evaluated per second (dispatched message.received events over the time
from the first stored message to the last dispatch) and the latency from inbound stored to run done
(p50/p95/p99), from the database. Uses DATABASE_URL / REDIS_URL when set, otherwise SQLite and an
embedded Redis (PostgreSQL is what the figures are quoted for).
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

TEXTS = ("Hi, what is the price?", "Where is my order 123", "hello there", "I want to buy two", "thanks!")
# Workflows each text starts: "any" always; price, order and hello/hi one more; buy starts its own (its
# condition then decides); "thanks!" only the "any" one.
RUNS_PER_TEXT = (3, 2, 2, 2, 1)


def workflows(tag_ids: dict[str, int]) -> list[dict]:
    """The five workflows of a workspace, as the editor would save them."""
    return [
        {"name": "Price", "trigger": {"match": "keyword", "value": "price"},
         "actions": [{"kind": "add_tag", "tag_id": tag_ids["lead"]}]},
        {"name": "Order", "trigger": {"match": "keyword", "value": "order"},
         "actions": [{"kind": "set_field", "field": "topic", "value": "order"}]},
        {"name": "Greeting", "trigger": {"match": "regex", "value": r"\b(hello|hi)\b"},
         "actions": [{"kind": "create_task", "title": "Greet {{name}}"}]},
        {"name": "Seen", "trigger": {"match": "any"}, "conditions": [{"kind": "lacks_tag", "tag_id": tag_ids["vip"]}],
         "actions": [{"kind": "set_field", "field": "seen", "value": "yes"}]},
        {"name": "Buyer", "trigger": {"match": "keyword", "value": "buy"},
         "conditions": [{"kind": "has_tag", "tag_id": tag_ids["lead"]}],
         "actions": [{"kind": "add_tag", "tag_id": tag_ids["buyer"]}]},
    ]


def prepare(workspaces: int) -> tuple[object, list[int]]:
    """Migrate; per workspace a connected sandbox channel, three tags and the five workflows (enabled)."""
    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from models.tenancy import tenant_scope
    from services.accounts import sign_up
    from services.channels import ensure_channel, set_state
    from services.workflows.definitions import WorkflowInput, save_workflow, set_enabled
    from tests.factories import make_tag
    from whatsapp.base import ConnectionState

    app = create_app()
    tenants = []
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        stamp = time.time_ns()
        for w in range(workspaces):
            user = sign_up(f"workflows{stamp}-{w}@example.com", "bench-password-1", f"Workflow bench {w}")
            with tenant_scope(user.tenant_id):
                set_state(ensure_channel("sandbox"), ConnectionState.CONNECTED)
                tag_ids = {name: make_tag(name).id for name in ("lead", "vip", "buyer")}
                for spec in workflows(tag_ids):
                    workflow = save_workflow(WorkflowInput(name=spec["name"], trigger=spec["trigger"],
                                                           conditions=spec.get("conditions", []),
                                                           actions=spec["actions"]), user_id=user.id)
                    set_enabled(workflow, True)
                db.session.commit()
            tenants.append(user.tenant_id)
        db.session.remove()
    return app, tenants


def feed(app, tenants: list[int], messages: int, batch: int) -> tuple[int, float]:
    """Store `messages` inbound texts through the inbound path, `batch` per delivery, workspaces in turn."""
    from extensions import db
    from models.base import utcnow
    from models.tenancy import tenant_scope
    from services.channels import get_channel
    from services.inbound import apply_events
    from whatsapp.base import InboundMessage

    began, sent, expected, n = time.time(), 0, 0, 0
    with app.app_context():
        while sent < messages:
            for w, tenant_id in enumerate(tenants):
                count = min(batch, messages - sent)
                if count <= 0:
                    break
                events = []
                for _ in range(count):
                    # A customer writes twice (so "buy" finds the tag "price" gave them earlier).
                    n += 1
                    customer = (n // 2) % 100_000
                    text_index = n % len(TEXTS)
                    expected += RUNS_PER_TEXT[text_index]
                    events.append(InboundMessage(provider_message_id=f"wamid.bench{w}-{n}",
                                                 wa_id=f"1{w:02d}5{customer:07d}", timestamp=utcnow(), type="text",
                                                 text=TEXTS[text_index], profile_name=f"Buyer {customer}"))
                with tenant_scope(tenant_id):
                    apply_events(get_channel(), events, received_at=utcnow())
                    db.session.commit()
                sent += count
        db.session.remove()
    return expected, time.time() - began


def progress(app, tenants: list[int]) -> tuple[int, int]:
    """(runs finished, runs in all) over the workspaces."""
    from sqlalchemy import func, select

    from extensions import db
    from models import WorkflowRun
    from models.tenancy import tenant_scope

    finished = total = 0
    with app.app_context():
        for tenant_id in tenants:
            with tenant_scope(tenant_id):
                for state, count in db.session.execute(select(WorkflowRun.state, func.count(WorkflowRun.id))
                                                       .group_by(WorkflowRun.state)):
                    total += count
                    finished += count if state in ("done", "failed", "stopped") else 0
        db.session.remove()
    return finished, total


def sweep(app) -> int:
    """One round of the cron's resume sweep, in this process."""
    from jobs.context import set_worker_app
    from jobs.workflows import resume_due_runs

    set_worker_app(app)
    return resume_due_runs()


def figures(app, tenants: list[int]) -> dict:
    """Events per second and the inbound-to-done latencies, read from the database workspace by workspace."""
    from sqlalchemy import func, select

    from extensions import db
    from models import DomainEvent, Message, WorkflowRun
    from models.tenancy import tenant_scope

    firsts, lasts, events, rows = [], [], 0, []
    with app.app_context():
        for tenant_id in tenants:
            with tenant_scope(tenant_id):
                first, last, count = db.session.execute(
                    select(func.min(DomainEvent.created_at), func.max(DomainEvent.dispatched_at),
                           func.count(DomainEvent.id))
                    .where(DomainEvent.kind == "message.received", DomainEvent.dispatched_at.is_not(None))).one()
                if count:
                    firsts.append(first)
                    lasts.append(last)
                    events += count
                rows += db.session.execute(
                    select(WorkflowRun.finished_at, Message.created_at, WorkflowRun.state)
                    .join(DomainEvent, DomainEvent.id == WorkflowRun.event_id)
                    .join(Message, Message.id == DomainEvent.subject_id)).all()
        db.session.remove()
    latencies = sorted((done - stored).total_seconds() for done, stored, _state in rows if done)
    states: dict[str, int] = {}
    for _done, _stored, state in rows:
        states[state] = states.get(state, 0) + 1

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    span = (max(lasts) - min(firsts)).total_seconds() if firsts else float("nan")
    return {"events": events, "span": span, "rate": events / span if span else float("nan"), "runs": len(rows),
            "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": pick(1.0), "states": states}


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workspaces", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=20, help="messages per inbound delivery")
    args = parser.parse_args()

    from bench.environment import use_fake_graph
    from tests.fakes import FakeGraphAPI

    tmp = Path(tempfile.mkdtemp(prefix="mh-workflows-"))
    with FakeGraphAPI() as graph:
        redis_server = use_fake_graph(tmp, graph)
        app, tenants = prepare(args.workspaces)
        from services.queueing import ALL_QUEUES

        rq = str(Path(sys.executable).parent / "rq")
        workers = [subprocess.Popen([rq, "worker", "-w", "worker.AppWorker", "--url", os.environ["REDIS_URL"],
                                     "--path", str(ROOT), "--with-scheduler", "--logging_level", "WARNING",
                                     *ALL_QUEUES], cwd=ROOT, env=dict(os.environ))
                   for _ in range(args.workers)]
        try:
            wait_for_workers(os.environ["REDIS_URL"], args.workers)
            expected, fed = feed(app, tenants, args.messages, args.batch)
            print(f"fed {args.messages:,} inbound messages to {args.workspaces} workspaces in {fed:.1f} s "
                  f"({args.messages / fed:,.0f}/s); {expected:,} runs expected", flush=True)
            deadline, swept, last_sweep = time.time() + 1800, 0, time.time()
            while time.time() < deadline:
                finished, total = progress(app, tenants)
                if total >= expected and finished >= total:
                    break
                if time.time() - last_sweep >= 60:
                    swept += sweep(app)  # what the cron does every minute: resume runs whose job was lost
                    last_sweep = time.time()
                time.sleep(1)
            print(f"runs resumed by the minute sweep (overdue: their job was lost): {swept}")
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait()
            if redis_server is not None:
                redis_server.stop()
        result = figures(app, tenants)
    print(f"runs: {result['runs']:,} ({result['states']}) for {result['events']:,} message.received events")
    print(f"events evaluated: {result['rate']:,.0f}/s ({result['events']:,} in {result['span']:.1f} s, "
          f"{args.workers} workers)")
    print(f"inbound stored -> run done: p50 {result['p50']:,.0f} ms, p95 {result['p95']:,.0f} ms, "
          f"p99 {result['p99']:,.0f} ms, max {result['max']:,.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
