"""Schedule in the workspace's zone, the due sweep after a Redis flush, the one-statement snapshot,
feeding under the rules of the moment, pause / resume / cancel / retry failed, and progress counts."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, update

from extensions import db
from jobs.broadcasts import feed_broadcast, start_due_broadcasts, sweep_broadcasts
from models import Broadcast, BroadcastRecipient, Contact, Message, Tenant
from models.base import utcnow
from services.broadcasts import cancel, confirm, pause, progress, resume, retry_failed, save_broadcast
from services.broadcasts.feeder import OPTED_OUT, WINDOW_CLOSED
from tests.factories import link, make_contact, make_tag


def new_broadcast(data=None, **extra) -> Broadcast:
    return save_broadcast({"name": "Spring sale", "body": "Hi {{first_name|there}}", "audience": {"kind": "all"},
                           **(data or {}), **extra})


def add(count: int, *, tag=None, **fields) -> list[int]:
    ids = []
    for _ in range(count):
        contact = make_contact(**fields)
        if tag is not None:
            link(contact, tag)
        ids.append(contact.id)
    return ids


def recipients(session, broadcast_id: int) -> list[BroadcastRecipient]:
    return list(session.scalars(select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast_id)
                                .order_by(BroadcastRecipient.id)))


def states(session, broadcast_id: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for recipient in recipients(session, broadcast_id):
        found[recipient.state] = found.get(recipient.state, 0) + 1
    return found


@pytest.mark.parametrize("day, utc_hour", [("2030-07-01", 8), ("2030-01-15", 9)])
def test_a_schedule_is_read_in_the_workspace_time_zone(create_user, in_tenant, day, utc_hour):
    user = create_user()
    with in_tenant(user.tenant_id) as session:
        session.execute(update(Tenant).where(Tenant.id == user.tenant_id).values(time_zone="Europe/Lisbon"))
        broadcast = new_broadcast(when="later", day=day, at="09:00")
        assert broadcast.scheduled_at == datetime.fromisoformat(f"{day}T{utc_hour:02d}:00:00").replace(tzinfo=UTC)
        assert confirm(broadcast) == "scheduled"


def test_a_due_broadcast_starts_from_the_database_after_redis_was_flushed(app, sandbox_connected, in_tenant,
                                                                          feed_until_done):
    tenant = sandbox_connected.tenant_id
    with in_tenant(tenant):
        add(3)
        broadcast = new_broadcast(when="later", day="2099-01-01", at="09:00")
        confirm(broadcast)
        broadcast_id = broadcast.id
    app.extensions["messagehub.redis"].flushdb()
    with in_tenant(tenant) as session:  # its moment comes
        session.execute(update(Broadcast).values(scheduled_at=utcnow() - timedelta(seconds=5)))
    assert start_due_broadcasts() == {"started": 1}
    assert start_due_broadcasts() == {"started": 0}
    assert feed_until_done(tenant, broadcast_id) == "completed"
    with in_tenant(tenant) as session:
        assert states(session, broadcast_id) == {"sent": 3}


def test_the_snapshot_is_one_insert_select_and_unique(app, sandbox_connected, in_tenant):
    tenant = sandbox_connected.tenant_id
    with in_tenant(tenant) as session:
        vip = make_tag(name="vip")
        add(30, tag=vip)
        add(2, tag=vip, opted_out=True)
        broadcast = new_broadcast(audience={"kind": "tags", "tag_ids": [vip.id]})
        statements = []

        def count(_conn, _cursor, statement, *_args):
            statements.append(statement)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            confirm(broadcast)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO BROADCAST_RECIPIENTS")]
        assert len(inserts) == 1 and "SELECT" in inserts[0].upper()
        assert len(recipients(session, broadcast.id)) == 30
        # The same audience again adds nobody: one row per contact per broadcast.
        from services.broadcasts.audience import snapshot

        snapshot(broadcast)
        assert session.scalar(select(func.count(BroadcastRecipient.id))) == 30


def test_feeding_skips_whoever_opted_out_since_the_start(app, sandbox_connected, in_tenant, feed_until_done, run_jobs):
    tenant = sandbox_connected.tenant_id
    with in_tenant(tenant) as session:
        ids = add(4)
        broadcast = new_broadcast()
        confirm(broadcast)
        broadcast_id = broadcast.id
        session.commit()
        session.execute(update(Contact).where(Contact.id == ids[0]).values(opted_out=True))
    assert feed_until_done(tenant, broadcast_id) == "completed"
    with in_tenant(tenant) as session:
        rows = sorted(recipients(session, broadcast_id), key=lambda r: r.contact_id)
        assert [r.state for r in rows] == ["skipped", "sent", "sent", "sent"]
        assert rows[0].reason == OPTED_OUT and rows[0].message_id is None
        messages = list(session.scalars(select(Message).where(Message.origin == "broadcast")))
        assert len(messages) == 3 and all(m.body.startswith("Hi ") for m in messages)


def test_on_cloud_text_skips_recipients_outside_the_window_at_send_time(app, cloud_connected, graph, in_tenant,
                                                                       feed_until_done):
    tenant = cloud_connected.tenant_id
    with in_tenant(tenant) as session:
        open_ids = add(2, last_inbound_at=utcnow())
        closed = add(1, last_inbound_at=utcnow() - timedelta(hours=30))
        broadcast = new_broadcast()
        confirm(broadcast)
        broadcast_id = broadcast.id
        session.commit()
        # The window of one "open" contact closes before the feeder reaches it.
        session.execute(update(Contact).where(Contact.id == open_ids[1])
                        .values(last_inbound_at=utcnow() - timedelta(hours=25)))
    assert feed_until_done(tenant, broadcast_id) == "completed"
    with in_tenant(tenant) as session:
        rows = {r.contact_id: r for r in recipients(session, broadcast_id)}
        assert rows[open_ids[0]].state == "sent"
        assert rows[open_ids[1]].state == rows[closed[0]].state == "skipped"
        assert rows[closed[0]].reason == WINDOW_CLOSED
        shown = progress(session.get(Broadcast, broadcast_id))
        assert shown.counts["skipped"] == 2 and shown.skipped_reasons == [(WINDOW_CLOSED, 2)]
    assert len(graph.sent) == 1


def test_pause_takes_back_only_queued_messages_and_resume_finishes(app, sandbox_connected, in_tenant,
                                                                    feed_until_done):
    tenant = sandbox_connected.tenant_id
    with in_tenant(tenant) as session:
        add(5)
        broadcast = new_broadcast()
        confirm(broadcast)
        broadcast_id = broadcast.id
    assert feed_broadcast(tenant, broadcast_id) == "more"  # 5 messages queued, no send job run yet
    with in_tenant(tenant) as session:
        first = recipients(session, broadcast_id)[0]
        claimed_id = first.message_id
        # A send job claimed one message: it is on its way and must not be taken back.
        session.execute(update(Message).where(Message.id == claimed_id).values(status="sending"))
        session.commit()
        broadcast = session.get(Broadcast, broadcast_id)
        assert pause(broadcast) == 4
        session.commit()
        assert states(session, broadcast_id) == {"sending": 1, "queued": 4}
        assert session.scalar(select(func.count(Message.id))) == 1
        # A paused broadcast is not fed, but its feeder keeps settling the send still on its way...
        assert feed_broadcast(tenant, broadcast_id) == "more"
        assert session.scalar(select(func.count(Message.id))) == 1
        session.execute(update(Message).where(Message.id == claimed_id).values(status="sent", sent_at=utcnow()))
        session.commit()
        # ...so the paused counts stand still once it is sent, and then the feeder stops.
        assert feed_broadcast(tenant, broadcast_id) == "paused"
        assert states(session, broadcast_id) == {"sent": 1, "queued": 4}
        resume(session.get(Broadcast, broadcast_id))
    assert feed_until_done(tenant, broadcast_id) == "completed"
    with in_tenant(tenant) as session:
        assert states(session, broadcast_id) == {"sent": 5}
        assert session.scalar(select(func.count(Message.id))) == 5  # nobody got two messages


def test_cancel_stops_the_rest(app, sandbox_connected, in_tenant):
    tenant = sandbox_connected.tenant_id
    with in_tenant(tenant) as session:
        add(3)
        broadcast = new_broadcast()
        confirm(broadcast)
        broadcast_id = broadcast.id
    from services.broadcasts import feeder

    feeder.BATCH_CAP, old = 2, feeder.BATCH_CAP
    try:
        feed_broadcast(tenant, broadcast_id)
    finally:
        feeder.BATCH_CAP = old
    with in_tenant(tenant) as session:
        assert cancel(session.get(Broadcast, broadcast_id)) == 3
        session.commit()
        assert states(session, broadcast_id) == {"cancelled": 3}
        assert session.scalar(select(func.count(Message.id))) == 0
        assert session.get(Broadcast, broadcast_id).status == "cancelled"


def test_retry_failed_requeues_failed_recipients_never_unknown_ones(app, sandbox_connected, in_tenant,
                                                                    feed_until_done):
    tenant = sandbox_connected.tenant_id
    with in_tenant(tenant):
        add(3)
        broadcast = new_broadcast()
        confirm(broadcast)
        broadcast_id = broadcast.id
    assert feed_broadcast(tenant, broadcast_id) == "more"
    with in_tenant(tenant) as session:
        failed, unknown, ok = (r.message_id for r in recipients(session, broadcast_id))
        session.execute(update(Message).where(Message.id == failed).values(status="failed", error_title="Bad number"))
        session.execute(update(Message).where(Message.id == unknown).values(status="unknown"))
        session.execute(update(Message).where(Message.id == ok).values(status="read", sent_at=utcnow()))
    assert sweep_broadcasts() == {"completed": 1, "restarted": 0}
    with in_tenant(tenant) as session:
        rows = recipients(session, broadcast_id)
        assert [r.state for r in rows] == ["failed", "unknown", "sent"]
        assert rows[0].reason == "Bad number" and "not resent" in rows[1].reason
        shown = progress(session.get(Broadcast, broadcast_id))
        assert (shown.counts["failed"], shown.counts["unknown"], shown.counts["read"], shown.percent) == (1, 1, 1, 100)
        assert retry_failed(session.get(Broadcast, broadcast_id)) == 1
    assert feed_until_done(tenant, broadcast_id) == "completed"
    with in_tenant(tenant) as session:
        assert [r.state for r in recipients(session, broadcast_id)] == ["sent", "unknown", "sent"]
        assert session.scalar(select(func.count(Message.id))) == 4  # one new message, for the failed one only


def test_the_sweep_restarts_a_feeder_redis_lost(app, sandbox_connected, in_tenant, feed_until_done, run_jobs):
    tenant = sandbox_connected.tenant_id
    with in_tenant(tenant):
        add(2)
        broadcast = new_broadcast()
        confirm(broadcast)
        broadcast_id = broadcast.id
    app.extensions["messagehub.redis"].flushdb()  # the feeder's job is gone
    assert run_jobs() == 0
    assert sweep_broadcasts() == {"completed": 0, "restarted": 1}
    assert sweep_broadcasts() == {"completed": 0, "restarted": 0}  # one feeder at a time
    run_jobs()
    assert feed_until_done(tenant, broadcast_id) == "completed"


def test_a_template_broadcast_pauses_on_a_channel_without_templates(app, sandbox_connected, in_tenant, monkeypatch):
    """A linked device sends no templates (here the sandbox plays one)."""
    from dataclasses import replace

    from services.broadcasts import feeder

    real = feeder.capabilities_for
    monkeypatch.setattr(feeder, "capabilities_for", lambda kind: replace(real(kind), templates=False))
    tenant = sandbox_connected.tenant_id
    with in_tenant(tenant) as session:
        add(2)
        broadcast = Broadcast(name="Promo", audience={"kind": "all"}, template_name="promo",
                              template_language="en_US", template_variables=[])
        session.add(broadcast)
        session.flush()
        confirm(broadcast)
        broadcast_id = broadcast.id
    assert feed_broadcast(tenant, broadcast_id) == "paused"
    with in_tenant(tenant) as session:
        assert "Cloud API feature" in session.get(Broadcast, broadcast_id).error
        assert states(session, broadcast_id) == {"queued": 2}


def test_a_text_too_long_once_personalised_is_skipped_with_the_reason(app, sandbox_connected, in_tenant,
                                                                       feed_until_done):
    tenant = sandbox_connected.tenant_id
    with in_tenant(tenant):
        make_contact(name="Short")
        make_contact(name="Long", custom_fields={"story": "x" * 5000})
        broadcast = new_broadcast(body="Hi {{name}} {{custom.story}}")
        confirm(broadcast)
        broadcast_id = broadcast.id
    assert feed_until_done(tenant, broadcast_id) == "completed"
    with in_tenant(tenant) as session:
        rows = sorted(recipients(session, broadcast_id), key=lambda r: r.contact_id)
        assert [r.state for r in rows] == ["sent", "skipped"] and "at most 4096" in rows[1].reason
