"""The outbox: queue, claim, send, retry, fail with a reason, pause, never twice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from jobs.sending import reconcile_outbox, send_message
from models import Channel, Contact, Message
from models.base import utcnow
from models.tenancy import tenant_scope
from services.outbox import SendRefused, queue_text
from services.outbox.delivery import MAX_ATTEMPTS
from tests.channels.helpers import channel_of, messages_of


def add_contact(app, tenant_id, phone="+14155550123", inbound_ago=timedelta(minutes=5), **fields):
    """A contact who wrote `inbound_ago` (None: never), so the window is open or closed."""
    with app.app_context(), tenant_scope(tenant_id):
        contact = Contact(name=fields.pop("name", "Customer"), phone=phone,
                          last_inbound_at=utcnow() - inbound_ago if inbound_ago is not None else None, **fields)
        db.session.add(contact)
        db.session.commit()
        return contact.id


def queue(app, tenant_id, contact_id, body="Hello!"):
    with app.app_context(), tenant_scope(tenant_id):
        contact = db.session.scalar(select(Contact).where(Contact.id == contact_id))
        message = queue_text(contact, body)
        db.session.commit()
        return message.id


def test_queued_text_is_sent_through_the_cloud_api(app, cloud_connected, graph, run_jobs):
    tenant = cloud_connected.tenant_id
    message_id = queue(app, tenant, add_contact(app, tenant), "Your order shipped")
    [message] = messages_of(app, tenant)
    assert message.status == "queued" and message.provider_message_id is None
    run_jobs()
    [message] = messages_of(app, tenant)
    assert message.status == "sent" and message.provider_message_id.startswith("wamid.") and message.sent_at
    sent = graph.sent[-1]
    assert sent["to"] == "14155550123" and sent["text"]["body"] == "Your order shipped"
    assert message.id == message_id


def test_a_job_running_twice_sends_once(app, cloud_connected, graph, run_jobs):
    tenant = cloud_connected.tenant_id
    message_id = queue(app, tenant, add_contact(app, tenant))
    assert send_message(tenant, message_id) == "sent"
    assert send_message(tenant, message_id) == "skipped"
    run_jobs()  # the job enqueued after commit finds the row claimed too
    assert len(graph.sent) == 1


@pytest.mark.parametrize("status, code", [(429, None), (500, None), (400, 130429)])
def test_transient_errors_are_retried_then_sent(app, cloud_connected, graph, status, code):
    tenant = cloud_connected.tenant_id
    message_id = queue(app, tenant, add_contact(app, tenant))
    graph.fail_next(status, error_code=code)
    assert send_message(tenant, message_id) == "retry"
    [message] = messages_of(app, tenant)
    assert message.status == "queued" and message.attempts == 1 and message.error_title.startswith("Retrying")
    assert message.next_attempt_at is not None
    assert send_message(tenant, message_id) == "sent"
    [message] = messages_of(app, tenant)
    assert message.status == "sent" and message.error_title is None and len(graph.sent) == 1


def test_retries_are_bounded_and_say_why(app, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    message_id = queue(app, tenant, add_contact(app, tenant))
    graph.fail_next(503, count=MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS):
        send_message(tenant, message_id)
    [message] = messages_of(app, tenant)
    assert message.status == "failed" and message.error_title.startswith(f"Gave up after {MAX_ATTEMPTS} attempts")
    assert graph.sent == []


def test_recipient_errors_fail_the_message_with_the_reason(app, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    message_id = queue(app, tenant, add_contact(app, tenant))
    graph.fail_next(400, error_code=131026)
    assert send_message(tenant, message_id) == "failed"
    [message] = messages_of(app, tenant)
    assert message.error_code == "131026" and "could not be delivered" in message.error_title
    assert channel_of(app, tenant).paused_at is None


def test_channel_errors_pause_the_channel_until_fixed(app, client, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    contact_id = add_contact(app, tenant)
    message_id = queue(app, tenant, contact_id)
    graph.fail_next(401, error_code=190)
    assert send_message(tenant, message_id) == "failed"
    [message] = messages_of(app, tenant)
    assert message.error_title.startswith("Sending paused") and message.error_code == "190"
    channel = channel_of(app, tenant)
    assert channel.paused_at is not None and "token" in channel.paused_reason.lower()
    with pytest.raises(SendRefused, match="Sending is paused"):
        queue(app, tenant, contact_id)
    assert "WhatsApp: Needs attention" in client.get("/contacts/").get_data(as_text=True)
    # Fixing the credentials (a successful test) resumes sending.
    client.post("/settings/whatsapp/cloud/test")
    assert channel_of(app, tenant).paused_at is None
    queue(app, tenant, contact_id)


def test_window_is_enforced_before_any_provider_call(app, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    never = add_contact(app, tenant, phone="+14155550124", inbound_ago=None)
    stale = add_contact(app, tenant, phone="+14155550125", inbound_ago=timedelta(hours=25))
    fresh = add_contact(app, tenant, phone="+14155550126", inbound_ago=timedelta(hours=23))
    for contact_id in (never, stale):
        with pytest.raises(SendRefused, match="24-hour"):
            queue(app, tenant, contact_id)
    queue(app, tenant, fresh)
    assert len(messages_of(app, tenant)) == 1 and graph.sent == []


def test_sandbox_and_linked_devices_have_no_window(app, sandbox_connected, run_jobs):
    tenant = sandbox_connected.tenant_id
    queue(app, tenant, add_contact(app, tenant, inbound_ago=None))
    run_jobs()
    run_jobs()
    [message] = messages_of(app, tenant)
    assert message.status == "read"


@pytest.mark.parametrize("body, reason", [("   ", "Write a message"), ("x" * 4097, "at most 4096")])
def test_bad_text_is_refused_and_nothing_queued(app, cloud_connected, body, reason):
    tenant = cloud_connected.tenant_id
    contact_id = add_contact(app, tenant)
    with pytest.raises(SendRefused, match=reason):
        queue(app, tenant, contact_id, body)
    assert messages_of(app, tenant) == []


def test_no_linked_channel_is_refused(app, create_user):
    user = create_user()
    contact_id = add_contact(app, user.tenant_id)
    with pytest.raises(SendRefused, match="Link a WhatsApp number"):
        queue(app, user.tenant_id, contact_id)


def test_invalid_number_is_refused(app, sandbox_connected):
    contact_id = add_contact(app, sandbox_connected.tenant_id, phone="+1")
    with pytest.raises(SendRefused, match="no valid WhatsApp number"):
        queue(app, sandbox_connected.tenant_id, contact_id)


def test_gateway_sends_through_the_instance(app, live_server, client, create_user, login, gateway, run_jobs):
    user = create_user()
    login(user)
    client.post("/settings/whatsapp/qr")
    name = channel_of(app, user.tenant_id).instance_name
    gateway.simulate_scan(name)
    run_jobs()
    queue(app, user.tenant_id, add_contact(app, user.tenant_id, inbound_ago=None), "via the phone")
    run_jobs()
    [message] = messages_of(app, user.tenant_id)
    assert message.status == "sent"
    assert gateway.instances[name].sent[-1]["text"] == "via the phone"


def test_crash_mid_send_is_reconciled_never_resent(app, cloud_connected, graph):
    tenant = cloud_connected.tenant_id
    contact_id = add_contact(app, tenant)
    lost, known = queue(app, tenant, contact_id), queue(app, tenant, contact_id)
    with app.app_context(), tenant_scope(tenant):
        long_ago = utcnow() - timedelta(minutes=10)
        for message in db.session.scalars(select(Message)):
            message.status, message.sending_started_at = "sending", long_ago
            if message.id == known:
                message.provider_message_id = "wamid.known"
        db.session.commit()
    assert reconcile_outbox()["reconciled"] == 2
    by_id = {m.id: m for m in messages_of(app, tenant)}
    assert by_id[known].status == "sent"
    # Its fate is unknown, which is not the same as failed: it may be on the customer's phone.
    assert by_id[lost].status == "unknown" and "not resent automatically" in by_id[lost].error_title
    assert graph.sent == []


def test_queued_rows_whose_job_was_lost_are_requeued(app, cloud_connected, graph, run_jobs):
    tenant = cloud_connected.tenant_id
    queue(app, tenant, add_contact(app, tenant))
    with app.app_context():
        app.extensions["messagehub.redis"].flushdb()  # Redis restarted empty
        with tenant_scope(tenant):
            for message in db.session.scalars(select(Message)):
                message.created_at = utcnow() - timedelta(minutes=5)
            db.session.commit()
    assert reconcile_outbox()["requeued"] == 1
    run_jobs()
    assert [m.status for m in messages_of(app, tenant)] == ["sent"]
    assert len(graph.sent) == 1


def test_retry_button_path(app, cloud_connected, graph, run_jobs):
    from services.outbox import retry_message

    tenant = cloud_connected.tenant_id
    message_id = queue(app, tenant, add_contact(app, tenant))
    graph.fail_next(400, error_code=131026)
    send_message(tenant, message_id)
    with app.app_context(), tenant_scope(tenant):
        retry_message(db.session.scalar(select(Message).where(Message.id == message_id)))
        db.session.commit()
    run_jobs()
    [message] = messages_of(app, tenant)
    assert message.status == "sent" and message.error_code is None


def test_channel_row_unchanged_kind(app, cloud_connected):
    assert channel_of(app, cloud_connected.tenant_id).kind == Channel.CLOUD
