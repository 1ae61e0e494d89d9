"""The sandbox behaves like a provider and goes through the same pipeline."""
from __future__ import annotations

import re

import pytest

from extensions import db
from models import Contact
from models.tenancy import tenant_scope
from services.channels import get_channel, provider_for
from tests.channels.helpers import channel_of, contacts_of, events_of, messages_of


@pytest.fixture
def sandbox_tenant(app, client, create_user, login):
    user = create_user(tenant_name="Sandbox Co")
    login(user)
    assert client.post("/settings/whatsapp/sandbox").status_code == 303
    return user


def phone_path(app, tenant_id):
    return "/sandbox/" + channel_of(app, tenant_id).instance_name


def test_qr_encodes_the_phone_page(app, client, sandbox_tenant):
    channel = channel_of(app, sandbox_tenant.tenant_id)
    assert channel.state == "pending" and channel.qr_code == f"http://testserver/sandbox/{channel.instance_name}"
    page = client.get("/settings/whatsapp").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page and "Open the sandbox phone" in page


def test_scan_links_through_the_event_pipeline(app, client, sandbox_tenant, run_jobs):
    phone = app.test_client()  # the phone is not logged in
    assert phone.post(phone_path(app, sandbox_tenant.tenant_id) + "/scan").status_code == 303
    assert channel_of(app, sandbox_tenant.tenant_id).state == "pending"  # not until the event is processed
    [event] = events_of(app, sandbox_tenant.tenant_id)
    assert event.source == "sandbox"
    run_jobs()
    assert channel_of(app, sandbox_tenant.tenant_id).state == "connected"
    assert "WhatsApp: Connected" in client.get("/contacts/").get_data(as_text=True)


def test_simulated_inbound_message(app, sandbox_tenant, run_jobs):
    phone, path = app.test_client(), phone_path(app, sandbox_tenant.tenant_id)
    refused = phone.post(path + "/inbound", data={"from_number": "+14155550142", "name": "Zoe", "text": "hi"})
    assert refused.status_code == 400 and "Scan the QR first" in refused.get_data(as_text=True)
    phone.post(path + "/scan")
    run_jobs()
    bad = phone.post(path + "/inbound", data={"from_number": "12", "name": "Zoe", "text": "kept text"})
    assert bad.status_code == 400 and "kept text" in bad.get_data(as_text=True)
    assert phone.post(path + "/inbound", data={"from_number": "+14155550142", "name": "Zoe",
                                               "text": "Do you deliver?"}).status_code == 303
    run_jobs()
    [contact] = contacts_of(app, sandbox_tenant.tenant_id)
    assert contact.name == "Zoe" and contact.phone == "+14155550142"
    [message] = messages_of(app, sandbox_tenant.tenant_id)
    assert message.direction == "in" and message.body == "Do you deliver?"


def test_outbound_send_gets_receipts_asynchronously(app, sandbox_tenant, run_jobs):
    from models import Message

    app.test_client().post(phone_path(app, sandbox_tenant.tenant_id) + "/scan")
    run_jobs()
    with app.app_context(), tenant_scope(sandbox_tenant.tenant_id):
        contact = Contact(name="Receiver", phone="+14155550188")
        db.session.add(contact)
        db.session.flush()
        result = provider_for(get_channel()).send_text(contact.phone, "Your order shipped")
        assert re.match(r"sandbox\.out\.[0-9a-f]+$", result.provider_message_id)
        db.session.add(Message(contact_id=contact.id, direction="out", body="Your order shipped", status="sending",
                               provider_message_id=result.provider_message_id))
        db.session.commit()
    [message] = messages_of(app, sandbox_tenant.tenant_id)
    assert message.status == "sending"
    run_jobs()  # receipts are events...
    run_jobs()  # ...processed like any webhook
    [message] = messages_of(app, sandbox_tenant.tenant_id)
    assert message.status == "read" and message.delivered_at and message.read_at
    assert {e.source for e in events_of(app, sandbox_tenant.tenant_id)} == {"sandbox"}


def test_unknown_phone_page_is_404(app, sandbox_tenant, create_user, login):
    assert app.test_client().get("/sandbox/sandbox-made-up").status_code == 404
    # Another tenant's channel name is not a sandbox of the requester either way: capability, not login.
    other = create_user()
    other_client = login(other, test_client=app.test_client())
    assert other_client.get("/sandbox/whatever").status_code == 404


def test_starting_a_linked_sandbox_again_is_refused_by_the_service(app, client, sandbox_tenant, run_jobs):
    """Any caller, not only the settings route: starting again would cut the linked phone off."""
    from services.channels import ChannelSetupError
    from services.linking import start_sandbox

    assert app.test_client().post(phone_path(app, sandbox_tenant.tenant_id) + "/scan").status_code == 303
    run_jobs()
    with app.app_context(), tenant_scope(sandbox_tenant.tenant_id):
        with pytest.raises(ChannelSetupError, match="linked already"):
            start_sandbox()
        db.session.rollback()
    assert channel_of(app, sandbox_tenant.tenant_id).state == "connected"
