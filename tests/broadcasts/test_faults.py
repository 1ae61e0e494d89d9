"""A broadcast against real worker processes: kill -9 a worker mid-way, start another, nobody gets it twice."""
from __future__ import annotations

import signal
import time
from collections import Counter

from sqlalchemy import func, select, update

from extensions import db
from jobs.broadcasts import sweep_broadcasts
from jobs.sending import reconcile_outbox
from models import Broadcast, BroadcastRecipient, Message
from models.base import utcnow
from models.tenancy import tenant_scope
from services.broadcasts import confirm, save_broadcast
from services.broadcasts.lifecycle import feeder_key
from tests.messaging.test_pacing import add_contacts
from tests.workers import start_worker, stop_worker, wait_for_workers, wait_until

RECIPIENTS = 400


def _states(app, tenant_id: int, broadcast_id: int) -> Counter:
    with app.app_context(), tenant_scope(tenant_id):
        rows = db.session.execute(select(BroadcastRecipient.state, func.count(BroadcastRecipient.id))
                                  .where(BroadcastRecipient.broadcast_id == broadcast_id)
                                  .group_by(BroadcastRecipient.state)).all()
        db.session.remove()
        return Counter(dict(rows))


def _cron_tick(app, tenant_id: int) -> None:
    """What the minute sweeps do once their time has come: re-enqueue sends whose job died with the worker."""
    with app.app_context(), tenant_scope(tenant_id):
        long_ago = utcnow().replace(year=2020)
        db.session.execute(update(Message).where(Message.status == "queued")
                           .values(created_at=long_ago).execution_options(synchronize_session=False))
        db.session.commit()
        db.session.remove()
    with app.app_context():
        reconcile_outbox()
        sweep_broadcasts()


def test_a_worker_killed_mid_broadcast_sends_nobody_twice(app, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    graph.latency = 0.2  # requests are in flight when the worker dies
    add_contacts(app, tenant, RECIPIENTS)
    with app.app_context(), tenant_scope(tenant):
        broadcast = save_broadcast({"name": "Flash sale", "body": "Hi {{first_name}}, 20% off today",
                                    "audience": {"kind": "all"}})
        confirm(broadcast)
        db.session.commit()
        broadcast_id = broadcast.id
        db.session.remove()

    doomed = start_worker(app, name="doomed")
    wait_until(lambda: len(graph.sent) >= RECIPIENTS // 4, timeout=60, interval=0.05, message="a quarter sent")
    stop_worker(doomed, signal.SIGKILL)
    killed_at = len(graph.sent)
    assert killed_at < RECIPIENTS, "the worker finished before it was killed"

    # Later, the reconciler finds the sends the dead worker left in flight: unknown, never resent. Redis has
    # meanwhile forgotten the dead feeder (its key expires), and the dead worker's scheduler lock has expired.
    with app.app_context(), tenant_scope(tenant):
        db.session.execute(update(Message).where(Message.status == "sending")
                           .values(sending_started_at=utcnow().replace(year=2020))
                           .execution_options(synchronize_session=False))
        db.session.commit()
        redis = app.extensions["messagehub.redis"]
        redis.delete(feeder_key(tenant, broadcast_id), *redis.keys("rq:scheduler-lock:*"))
        db.session.remove()
    with app.app_context():
        reconcile_outbox()
        sweep_broadcasts()

    survivor = start_worker(app, name="survivor")
    try:
        wait_for_workers(app, 1)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            states = _states(app, tenant, broadcast_id)
            if not states.get("queued") and not states.get("sending"):
                break
            time.sleep(1)
            if time.monotonic() > deadline - 25:  # stalled 15 s: run the minute sweeps as cron would
                _cron_tick(app, tenant)
        wait_until(lambda: _status(app, tenant, broadcast_id) == "completed", timeout=10, interval=0.2,
                   message="the broadcast completed")
    finally:
        stop_worker(survivor)

    states = _states(app, tenant, broadcast_id)
    assert sum(states.values()) == RECIPIENTS
    assert set(states) <= {"sent", "failed", "unknown"}, states
    with app.app_context(), tenant_scope(tenant):
        for recipient in db.session.scalars(select(BroadcastRecipient).where(
                BroadcastRecipient.state.in_(["failed", "unknown"]))):
            assert recipient.reason
            if recipient.state == "unknown":
                assert "not resent" in recipient.reason
        assert db.session.scalar(select(func.count(Message.id)).where(Message.status == "queued")) == 0
        db.session.remove()
    time.sleep(0.5)  # the dead worker's last requests finish on the provider's side
    seen = Counter(body["to"] for body in graph.sent)
    assert [to for to, times in seen.items() if times > 1] == []
    assert states["sent"] >= RECIPIENTS - 40  # only the sends in flight at the kill may be unknown


def _status(app, tenant_id: int, broadcast_id: int) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        status = db.session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))
        db.session.remove()
        return status


def test_pause_and_resume_against_a_running_worker_send_everyone_once(app, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    graph.latency = 0.05
    add_contacts(app, tenant, 300)
    with app.app_context(), tenant_scope(tenant):
        broadcast = save_broadcast({"name": "Pause me", "body": "Hi {{first_name}}", "audience": {"kind": "all"}})
        confirm(broadcast)
        db.session.commit()
        broadcast_id = broadcast.id
        db.session.remove()

    worker = start_worker(app, name="worker")
    try:
        wait_until(lambda: len(graph.sent) >= 60, timeout=60, interval=0.05, message="sending under way")
        from services.broadcasts import pause, resume

        with app.app_context(), tenant_scope(tenant):
            pause(db.session.get(Broadcast, broadcast_id))
            db.session.commit()
            db.session.remove()
        # Messages no send job had claimed were taken back at once; their recipients wait, queued.
        assert _count(app, tenant, Message.status == "queued") == 0
        # What send jobs had claimed finishes; nothing else goes out while paused.
        wait_until(lambda: _count(app, tenant, Message.status.in_(["queued", "sending"])) == 0, timeout=15,
                   message="in-flight sends finished")
        time.sleep(2)
        paused_sent = len(graph.sent)
        assert paused_sent == _count(app, tenant, Message.status == "sent")
        assert _states(app, tenant, broadcast_id)["queued"] > 0
        time.sleep(1.5)
        assert len(graph.sent) == paused_sent

        with app.app_context(), tenant_scope(tenant):
            resume(db.session.get(Broadcast, broadcast_id))
            db.session.commit()
            db.session.remove()
        wait_until(lambda: _status(app, tenant, broadcast_id) == "completed", timeout=40, interval=0.2,
                   message="the broadcast completed")
    finally:
        stop_worker(worker)
    assert _states(app, tenant, broadcast_id) == Counter({"sent": 300})
    seen = Counter(body["to"] for body in graph.sent)
    assert len(seen) == 300 and max(seen.values()) == 1


def _count(app, tenant_id: int, *criteria) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        value = db.session.scalar(select(func.count(Message.id)).where(*criteria))
        db.session.remove()
        return value
