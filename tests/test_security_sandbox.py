"""The sandbox phone page needs no login, so it shows only what the business sent through the sandbox."""
from __future__ import annotations

from models import Message
from services.channels import ensure_channel, set_state
from tests.factories import make_contact
from whatsapp.base import ConnectionState


def test_phone_page_lists_only_sandbox_messages(app, create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id) as session:
        channel = ensure_channel("sandbox")
        channel.instance_name = "sandbox-test-phone"
        set_state(channel, ConnectionState.CONNECTED, phone_number="15550001111")
        instance = channel.instance_name
        contact = make_contact(name="Real Customer", phone="+14155550199")
        for kind, body in (("cloud", "Your card ending 4242 was charged"), (None, "Sent before channels were recorded"),
                           ("gateway", "Private note over the linked phone"), ("sandbox", "Hello from the sandbox")):
            session.add(Message(contact_id=contact.id, direction=Message.OUTBOUND, type="text", body=body,
                                status="sent", channel_kind=kind))
    page = app.test_client().get(f"/sandbox/{instance}").get_data(as_text=True)
    assert "Hello from the sandbox" in page
    assert "4242" not in page and "before channels" not in page and "linked phone" not in page
