"""The batch sender: bulk Cloud sends many in flight from one job, at most once, paced by the channel's limiter."""
from __future__ import annotations

import time

import aiohttp
from rq.registry import ScheduledJobRegistry

from extensions import get_redis
from jobs.sending import send_bulk, send_message
from services.queueing import BULK_QUEUE, INTERACTIVE_QUEUE, queue
from services.ratelimit import RateLimiter
from tests.channels.helpers import channel_of, messages_of
from tests.messaging.test_pacing import add_contacts, queue_to
from tests.workers import wait_until
from whatsapp import async_http


def _limiter_key(app, tenant_id: int) -> str:
    return f"channel:{channel_of(app, tenant_id).id}"


def test_one_job_keeps_a_batch_in_flight_and_records_every_id(app, cloud_connected, graph, run_jobs):
    tenant = cloud_connected.tenant_id
    graph.latency = 0.3
    ids = queue_to(app, tenant, add_contacts(app, tenant, 40), "broadcast")
    started = time.monotonic()
    assert send_message(tenant, ids[0]) == "sent"
    first_run = time.monotonic() - started
    # One after another, a run's ~28 answers of 0.3 s take 8 s; in flight together, its quarter second + 0.3 s.
    assert first_run < 1.5, f"the batch took {first_run:.2f}s"
    assert len(graph.sent) >= 20
    run_jobs()  # the run enqueued the next one for the next free slot
    messages = messages_of(app, tenant)
    assert {m.status for m in messages} == {"sent"}
    assert sorted(m.provider_message_id for m in messages) == sorted(s["id"] for s in graph.sent)
    assert len({s["to"] for s in graph.sent}) == 40


def test_a_lost_answer_is_unknown_and_never_sent_again(app, cloud_connected, graph, run_jobs, monkeypatch):
    tenant = cloud_connected.tenant_id
    monkeypatch.setattr(async_http, "TIMEOUT", aiohttp.ClientTimeout(total=0.3))
    graph.latency = 1.0  # the request arrives; its answer comes after the sender stopped waiting
    [message_id] = queue_to(app, tenant, add_contacts(app, tenant, 1), "broadcast")
    assert send_message(tenant, message_id) == "unknown"
    graph.latency = 0
    run_jobs()
    [message] = messages_of(app, tenant)
    assert message.status == "unknown" and "not resent" in message.error_title
    wait_until(lambda: graph.sent, timeout=5, message="the fake finished the request it was holding")
    run_jobs()
    assert len(graph.sent) == 1


def test_a_rate_limit_holds_the_channel_and_gives_back_what_was_not_started(app, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    graph.latency = 0.05
    ids = queue_to(app, tenant, add_contacts(app, tenant, 40), "broadcast")
    graph.fail_next(400, 130429, count=3, retry_after=5)
    send_message(tenant, ids[0])
    messages = {m.id: m for m in messages_of(app, tenant)}
    retrying = [m for m in messages.values() if m.error_title and m.error_title.startswith("Retrying")]
    assert retrying and all(m.status == "queued" and m.next_attempt_at for m in retrying)
    assert "too fast" in retrying[0].error_title
    # Sends not started when the provider said to slow down went back untouched; nothing went out twice.
    assert all(m.status in ("sent", "queued") for m in messages.values())
    assert len(graph.sent) == sum(m.status == "sent" for m in messages.values()) < 40
    assert any(m.status == "queued" and m.attempts == 0 and not m.error_title for m in messages.values())
    with app.app_context():
        limiter = RateLimiter(get_redis())
        assert limiter.next_slot(_limiter_key(app, tenant), 80.0, 8) > 2.0  # held for the 5 s WhatsApp asked


def test_a_run_without_a_free_slot_is_scheduled_for_it_without_waiting(app, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    queue_to(app, tenant, add_contacts(app, tenant, 3), "broadcast")
    with app.app_context():
        RateLimiter(get_redis()).hold(_limiter_key(app, tenant), 3.0)
    started = time.monotonic()
    send_bulk(tenant)
    assert time.monotonic() - started < 0.5
    assert graph.sent == []
    with app.app_context():
        [job_id] = ScheduledJobRegistry(queue=queue(BULK_QUEUE)).get_job_ids()
        job = queue(BULK_QUEUE).fetch_job(job_id)
        assert job.func_name == "jobs.sending.send_bulk" and job.args == (tenant,)
        when = ScheduledJobRegistry(queue=queue(BULK_QUEUE)).get_scheduled_time(job)
    assert 1.5 < when.timestamp() - time.time() < 4


def test_replies_take_only_slots_free_now_and_schedule_the_rest(app, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    graph.latency = 0.05
    ids = queue_to(app, tenant, add_contacts(app, tenant, 20), "inbox")
    with app.app_context():
        RateLimiter(get_redis()).hold(_limiter_key(app, tenant), 0.3)
    started = time.monotonic()
    assert send_message(tenant, ids[0]) == "scheduled"
    assert time.monotonic() - started < 0.25  # the slot 0.3 s away was booked, not slept on
    with app.app_context():
        assert ScheduledJobRegistry(queue=queue(INTERACTIVE_QUEUE)).count == 1
    assert graph.sent == []
