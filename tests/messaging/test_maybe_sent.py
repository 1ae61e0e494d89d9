"""At most once on the per-message path: a send that may have reached the provider is never resent.

The fake Graph API and gateway take the request (the message is accepted) but answer after the
client's read timeout: the message is marked unknown with the reason, and no later job, retry or
sweep sends it again. A request that never left (connection refused) is still retried.
"""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from extensions import db
from jobs.sending import reconcile_outbox, send_message
from models import Message
from models.base import utcnow
from models.tenancy import tenant_scope
from tests.channels.helpers import channel_of, messages_of
from tests.messaging.test_outbox import add_contact, queue
from whatsapp import http as shared_http

READ_TIMEOUT = 0.3


@pytest.fixture
def short_timeout(monkeypatch):
    """The shared HTTP client gives up on an answer after READ_TIMEOUT seconds."""
    monkeypatch.setattr(shared_http, "DEFAULT_TIMEOUT", httpx.Timeout(5.0, connect=2.0, read=READ_TIMEOUT))
    shared_http.reset_client()
    yield
    shared_http.reset_client()


def _age(app, tenant_id, minutes=5):
    """Make every message look old, as the sweeps would find it later."""
    with app.app_context(), tenant_scope(tenant_id):
        for message in db.session.scalars(select(Message)):
            message.created_at = utcnow() - timedelta(minutes=minutes)
        db.session.commit()


def test_a_reply_whose_answer_times_out_is_unknown_and_never_resent(app, cloud_connected, graph, short_timeout,
                                                                      run_jobs):
    tenant = cloud_connected.tenant_id
    message_id = queue(app, tenant, add_contact(app, tenant), "Your table is ready")
    graph.answer_late(READ_TIMEOUT * 4)
    assert send_message(tenant, message_id) == "unknown"
    [message] = messages_of(app, tenant)
    assert message.status == "unknown" and message.provider_message_id is None
    assert "may have been received" in message.error_title and "not resent automatically" in message.error_title
    assert message.next_attempt_at is None and message.attempts == 1
    assert len(graph.sent) == 1  # WhatsApp has it
    # Nothing that runs later sends it again: the job enqueued after commit, a second job, the sweep.
    run_jobs()
    assert send_message(tenant, message_id) == "skipped"
    _age(app, tenant)
    assert reconcile_outbox() == {"reconciled": 0, "requeued": 0}
    run_jobs()
    assert len(graph.sent) == 1 and [m.status for m in messages_of(app, tenant)] == ["unknown"]


def test_a_request_that_never_left_is_still_retried(app, cloud_connected, graph, short_timeout):
    tenant = cloud_connected.tenant_id
    message_id = queue(app, tenant, add_contact(app, tenant))
    graph.go_down("refuse")
    assert send_message(tenant, message_id) == "retry"
    [message] = messages_of(app, tenant)
    assert message.status == "queued" and message.error_title.startswith("Retrying")
    graph.come_up()
    assert send_message(tenant, message_id) == "sent"
    assert len(graph.sent) == 1


def test_a_linked_device_send_whose_answer_times_out_is_unknown(app, live_server, client, create_user, login,
                                                                gateway, run_jobs, short_timeout):
    user = create_user()
    login(user)
    client.post("/settings/whatsapp/qr")
    name = channel_of(app, user.tenant_id).instance_name
    gateway.simulate_scan(name)
    run_jobs()
    message_id = queue(app, user.tenant_id, add_contact(app, user.tenant_id, inbound_ago=None), "via the phone")
    gateway.answer_late(READ_TIMEOUT * 4)
    assert send_message(user.tenant_id, message_id) == "unknown"
    run_jobs()
    _age(app, user.tenant_id)
    reconcile_outbox()
    run_jobs()
    [message] = messages_of(app, user.tenant_id)
    assert message.status == "unknown" and "not resent automatically" in message.error_title
    assert [sent["text"] for sent in gateway.instances[name].sent] == ["via the phone"]
