"""Faults against real worker processes: concurrent deliveries, a slow tenant beside a fast one, a killed worker."""
from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from extensions import db
from jobs.sending import reconcile_outbox
from models import Contact, Message, WebhookEvent
from models.base import utcnow
from models.tenancy import tenant_scope
from services.queueing import INBOUND_QUEUE, INTERACTIVE_QUEUE
from tests.channels.helpers import channel_of, messages_of
from tests.fakes.cloud_webhooks import build_webhook, message_payload
from tests.messaging.conftest import APP_SECRET, PHONE_ID
from tests.messaging.test_pacing import add_contacts, link_gateway, queue_to
from tests.workers import start_worker, stop_worker, wait_for_workers, wait_until
from whatsapp.signature import sign_payload


def cloud_poster(app, tenant_id: int):
    """Posts signed bodies to a Cloud tenant's webhook URL, as Meta does."""
    url = f"/webhooks/cloud/{channel_of(app, tenant_id).webhook_token}"

    def post(payload) -> None:
        body = json.dumps(payload).encode()
        response = app.test_client().post(url, data=body, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign_payload(APP_SECRET, body)})
        assert response.status_code == 200

    return post


def count(app, tenant_id: int, model, *criteria) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        value = db.session.scalar(select(func.count()).select_from(model).where(*criteria))
        db.session.remove()
        return value


def test_concurrent_deliveries_naming_the_same_customers_lose_nothing(app, cloud_connected):
    """Deliveries naming new customers in opposite orders, processed at once by three workers."""
    tenant = cloud_connected.tenant_id
    post = cloud_poster(app, tenant)
    customers = [f"1555010{n:04d}" for n in range(10)]
    deliveries = []
    for number in range(12):
        order = customers if number % 2 else customers[::-1]
        deliveries.append(build_webhook(PHONE_ID, messages=[
            message_payload("text", {"body": f"d{number} m{i}"}, wa_id=wa_id)
            for i, wa_id in enumerate(order + order)]))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(post, deliveries))
    workers = [start_worker(app, name=f"worker{n}") for n in range(3)]
    try:
        wait_for_workers(app, 3)
        wait_until(lambda: count(app, tenant, WebhookEvent, WebhookEvent.processed_at.is_not(None)) == 12,
                   timeout=90, interval=0.2, message="every delivery processed")
    finally:
        for worker in workers:
            stop_worker(worker)
    assert count(app, tenant, Message) == 240
    assert count(app, tenant, Contact) == 10
    assert count(app, tenant, WebhookEvent, WebhookEvent.failed_at.is_not(None)) == 0


def test_one_tenants_slow_backlog_does_not_delay_another_tenants_conversation(app, live_server, create_user, login,
                                                                             gateway, cloud_connected, graph,
                                                                             run_jobs):
    """1,000 linked-device messages wait their turn at one every ~4 s; a Cloud customer is answered at once."""
    slow = link_gateway(app, create_user, login, gateway, run_jobs)
    fast = cloud_connected.tenant_id
    workers = [start_worker(app, name="worker"),
               start_worker(app, (INBOUND_QUEUE, INTERACTIVE_QUEUE), scheduler=False, name="fast")]
    try:
        wait_for_workers(app, 2)
        queue_to(app, slow.tenant_id, add_contacts(app, slow.tenant_id, 1000), "api")
        instance = gateway.instances[channel_of(app, slow.tenant_id).instance_name]
        wait_until(lambda: instance.sent, timeout=15, message="the backlog started")

        received = time.monotonic()
        cloud_poster(app, fast)(build_webhook(PHONE_ID, messages=[
            message_payload("text", {"body": "Is my order ready?"}, wa_id="15557770001")]))
        wait_until(lambda: count(app, fast, Message, Message.direction == "in") == 1, timeout=10,
                   message="the customer's message stored")
        stored = time.monotonic()
        with app.app_context(), tenant_scope(fast):
            from services.outbox import queue_text

            contact = db.session.scalar(select(Contact).where(Contact.phone == "+15557770001"))
            queue_text(contact, "Yes, come by any time.")
            db.session.commit()
        wait_until(lambda: graph.sent, timeout=10, message="the reply sent")
        replied = time.monotonic()
    finally:
        for worker in workers:
            stop_worker(worker)
    assert stored - received < 2, f"inbound stored after {stored - received:.2f}s"
    assert replied - stored < 2, f"reply sent after {replied - stored:.2f}s"
    # The slow tenant kept its pace: no burst, nothing failed, the rest waits for its booked slots.
    assert len(instance.sent) <= 1 + (replied - received + 8) / 4 * 1.5 + 1
    assert count(app, slow.tenant_id, Message, Message.status == "failed") == 0


def test_a_worker_killed_mid_send_leaves_an_unknown_message_that_is_never_resent(app, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    graph.latency = 3  # the provider takes its time; the worker dies while waiting for the answer
    [message_id] = queue_to(app, tenant, add_contacts(app, tenant, 1), "inbox")
    worker = start_worker(app, name="doomed")
    wait_until(lambda: count(app, tenant, Message, Message.status == "sending") == 1, timeout=15,
               message="the send in flight")
    time.sleep(0.5)  # the request has reached the provider
    stop_worker(worker, signal.SIGKILL)
    graph.latency = 0

    with app.app_context(), tenant_scope(tenant):
        message = db.session.get(Message, message_id)
        message.sending_started_at = utcnow().replace(year=2020)  # as if the reconciler runs much later
        db.session.commit()
    assert reconcile_outbox() == {"reconciled": 1, "requeued": 0}
    survivor = start_worker(app, name="survivor")
    try:
        wait_for_workers(app, 1)
        time.sleep(1.5)  # a resend, if any, would happen now
    finally:
        stop_worker(survivor)
    [message] = messages_of(app, tenant)
    assert message.status == "unknown" and "not resent automatically" in message.error_title
    # The provider finishes the dead worker's request in its own time; it got the message once, nobody resent it.
    wait_until(lambda: graph.sent, timeout=10, message="the provider recorded the send")
    assert len(graph.sent) == 1
