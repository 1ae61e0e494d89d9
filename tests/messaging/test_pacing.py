"""Pacing without sleeping workers, queues by urgency, and a provider's id that is never lost."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from extensions import db
from jobs.sending import reconcile_outbox, send_message
from models import Contact, Message
from models.base import utcnow
from models.tenancy import tenant_scope
from services.outbox import SendRefused, queue_text, retry_message
from services.queueing import BULK_QUEUE, INTERACTIVE_QUEUE, queue
from services.ratelimit import RateLimiter
from tests.channels.helpers import channel_of, messages_of


def link_gateway(app, create_user, login, gateway, run_jobs):
    """A tenant whose QR-linked device is connected (the fake gateway posts the scan to `live_server`)."""
    user = create_user()
    client = login(user, test_client=app.test_client())
    assert client.post("/settings/whatsapp/qr").status_code == 303
    gateway.simulate_scan(channel_of(app, user.tenant_id).instance_name)
    run_jobs()
    assert channel_of(app, user.tenant_id).is_connected
    return user


def add_contacts(app, tenant_id: int, count: int, start: int = 0) -> list[int]:
    with app.app_context(), tenant_scope(tenant_id):
        contacts = [Contact(name=f"Customer {n}", phone=f"+1415{5550000 + n:07d}", last_inbound_at=utcnow())
                    for n in range(start, start + count)]
        db.session.add_all(contacts)
        db.session.commit()
        return [c.id for c in contacts]


def queue_to(app, tenant_id: int, contact_ids: list[int], origin: str) -> list[int]:
    with app.app_context(), tenant_scope(tenant_id):
        contacts = db.session.scalars(select(Contact).where(Contact.id.in_(contact_ids)).order_by(Contact.id))
        ids = [queue_text(contact, "Hello", origin=origin).id for contact in contacts]
        db.session.commit()
        return ids


def queued_job_count(app, name: str) -> int:
    with app.app_context():
        return queue(name).count


def test_the_limiter_books_future_slots_without_waiting(app):
    with app.app_context():
        limiter = RateLimiter(app.extensions["messagehub.redis"], prefix="test:reserve")
        started = time.monotonic()
        waits = [limiter.reserve("channel:1", 2.0) for _ in range(4)]
        assert time.monotonic() - started < 0.5
    # Four sends at 2/s: now, then 0.5 s apart.
    assert waits[0] == 0
    assert waits[1:] == pytest.approx([0.5, 1.0, 1.5], abs=0.05)


def test_replies_and_bulk_sends_go_through_separate_queues(app, sandbox_connected):
    tenant = sandbox_connected.tenant_id
    reply, bulk = add_contacts(app, tenant, 2)
    queue_to(app, tenant, [reply], "inbox")
    queue_to(app, tenant, [bulk], "api")
    assert queued_job_count(app, INTERACTIVE_QUEUE) == 1
    assert queued_job_count(app, BULK_QUEUE) == 1


def test_a_send_that_must_wait_for_its_slot_is_rescheduled_not_slept(app, live_server, create_user, login, gateway,
                                                                    run_jobs):
    user = link_gateway(app, create_user, login, gateway, run_jobs)
    first, second = queue_to(app, user.tenant_id, add_contacts(app, user.tenant_id, 2), "api")
    assert send_message(user.tenant_id, first) == "sent"
    started = time.monotonic()
    assert send_message(user.tenant_id, second) == "scheduled"
    assert time.monotonic() - started < 0.5  # a linked device's next slot is ~4 s away: nobody waited for it
    message = next(m for m in messages_of(app, user.tenant_id) if m.id == second)
    assert message.status == "queued" and message.attempts == 0
    wait = (message.next_attempt_at - utcnow()).total_seconds()
    assert 1.5 < wait < 7
    with app.app_context():
        [job_id] = ScheduledJobRegistry(queue=queue(BULK_QUEUE)).get_job_ids()
        job = queue(BULK_QUEUE).fetch_job(job_id)
        assert job.args == (user.tenant_id, second) and job.kwargs == {"reserved": True}
    # When the job runs at its slot it sends without booking another one.
    assert send_message(user.tenant_id, second, reserved=True) == "sent"
    assert len(gateway.instances[channel_of(app, user.tenant_id).instance_name].sent) == 2


def test_the_provider_id_survives_a_dropped_database_connection(app, cloud_connected, graph, monkeypatch):
    from services.outbox import recording

    tenant = cloud_connected.tenant_id
    [message_id] = queue_to(app, tenant, add_contacts(app, tenant, 1), "inbox")
    real, failures = recording._write_sent, {"left": 2}

    def drops(sent, now):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("UPDATE messages ...", {}, Exception("server closed the connection"),
                                   connection_invalidated=True)
        real(sent, now)

    monkeypatch.setattr(recording, "_write_sent", drops)
    monkeypatch.setattr(recording, "RECORD_RETRY_DELAYS", (0, 0, 0, 0))
    assert send_message(tenant, message_id) == "sent"
    [message] = messages_of(app, tenant)
    assert message.status == "sent" and message.provider_message_id == graph.sent[-1]["id"]


def test_a_provider_id_the_database_could_not_take_is_recovered_by_the_reconciler(app, cloud_connected, graph,
                                                                                   monkeypatch):
    from services.outbox import recording

    tenant = cloud_connected.tenant_id
    [message_id] = queue_to(app, tenant, add_contacts(app, tenant, 1), "inbox")

    def database_down(sent, now):
        raise OperationalError("UPDATE messages ...", {}, Exception("connection refused"), connection_invalidated=True)

    monkeypatch.setattr(recording, "_write_sent", database_down)
    monkeypatch.setattr(recording, "RECORD_RETRY_DELAYS", (0, 0))
    assert send_message(tenant, message_id) == "unrecorded"
    monkeypatch.undo()
    with app.app_context(), tenant_scope(tenant):
        db.session.get(Message, message_id).sending_started_at = utcnow() - timedelta(minutes=10)
        db.session.commit()
    assert reconcile_outbox()["reconciled"] == 1
    [message] = messages_of(app, tenant)
    # Recorded as sent with WhatsApp's id, not failed: a Retry here would have sent it twice.
    assert message.status == "sent" and message.provider_message_id == graph.sent[-1]["id"]
    assert len(graph.sent) == 1


def test_an_unknown_fate_is_not_failed_and_sending_again_needs_confirmation(app, client, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    [message_id] = queue_to(app, tenant, add_contacts(app, tenant, 1), "inbox")
    with app.app_context(), tenant_scope(tenant):
        message = db.session.get(Message, message_id)
        message.status, message.sending_started_at = "sending", utcnow() - timedelta(minutes=10)
        db.session.commit()
    reconcile_outbox()
    [message] = messages_of(app, tenant)
    assert message.status == "unknown"
    page = client.get(f"/inbox/{message.contact_id}").get_data(as_text=True)
    assert "Unknown: may have been delivered" in page and "Not delivered" not in page
    assert 'data-confirm="WhatsApp may already have delivered this message.' in page

    refused = client.post(f"/inbox/messages/{message_id}/retry", headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "Confirm to send it again" in refused.get_data(as_text=True)
    assert messages_of(app, tenant)[0].status == "unknown"
    with app.app_context(), tenant_scope(tenant):
        with pytest.raises(SendRefused):
            retry_message(db.session.get(Message, message_id))
    confirmed = client.post(f"/inbox/messages/{message_id}/retry", data={"confirm_duplicate": "1"})
    assert confirmed.status_code == 303
    assert messages_of(app, tenant)[0].status == "queued"


def test_sends_queued_together_share_jobs_and_all_go_out_once(app, cloud_connected, graph, run_jobs):
    tenant = cloud_connected.tenant_id
    queue_to(app, tenant, add_contacts(app, tenant, 45), "api")
    assert queued_job_count(app, BULK_QUEUE) == 3  # one job per batch of 20, not one per message
    run_jobs()
    assert {m.status for m in messages_of(app, tenant)} == {"sent"}
    assert len(graph.sent) == 45 and len({s["to"] for s in graph.sent}) == 45


def test_a_slot_taken_between_counting_and_booking_is_not_slept_on(app, live_server, create_user, login, gateway,
                                                                  run_jobs, monkeypatch):
    """Another job books the near slot after this one counted it: the message goes back and is scheduled."""
    user = link_gateway(app, create_user, login, gateway, run_jobs)
    first, second = queue_to(app, user.tenant_id, add_contacts(app, user.tenant_id, 2), "api")
    assert send_message(user.tenant_id, first) == "sent"  # the next linked-device slot is ~4 s away now
    real = RateLimiter.reserve_many

    def counts_a_stale_slot(self, *args, book=True, **kwargs):
        return [0.0] if not book else real(self, *args, book=book, **kwargs)

    monkeypatch.setattr(RateLimiter, "reserve_many", counts_a_stale_slot)
    started = time.monotonic()
    assert send_message(user.tenant_id, second) == "scheduled"
    assert time.monotonic() - started < 1  # nobody waited ~4 s for the slot
    message = next(m for m in messages_of(app, user.tenant_id) if m.id == second)
    assert message.status == "queued" and message.attempts == 0 and message.next_attempt_at is not None
    assert len(gateway.instances[channel_of(app, user.tenant_id).instance_name].sent) == 1
