"""Where domain events come from: contacts, tags, inbound messages, receipts, drips, broadcasts."""
from __future__ import annotations

from sqlalchemy import delete, select

from extensions import db
from models import Broadcast, Contact, DomainEvent, Message
from models.base import utcnow
from services.channels import ensure_channel
from services.contacts import ContactInput, save_contact, set_contact_tags
from services.inbound import apply_events
from tests.factories import make_contact, make_tag
from whatsapp.base import InboundMessage, StatusUpdate


def recorded() -> list[tuple]:
    return [(e.kind, e.contact_id, e.subject_id, e.data)
            for e in db.session.scalars(select(DomainEvent).order_by(DomainEvent.id))]


def test_saving_a_contact_records_created_then_only_real_changes(app, create_user, in_tenant):
    with in_tenant(create_user().tenant_id):
        contact = save_contact(ContactInput(name="Ana", phone="+14155550101"), "US")
        save_contact(ContactInput(name="Ana", phone="+14155550101"), "US", contact)  # nothing changed
        save_contact(ContactInput(name="Ana Souza", phone="+14155550101", email="ana@example.com"), "US", contact)
        assert recorded() == [("contact.created", contact.id, None, {"source": "ui"}),
                              ("contact.updated", contact.id, None, {"fields": ["email", "name"]})]


def test_changing_a_contacts_tags_records_each_added_and_removed_tag(app, create_user, in_tenant):
    with in_tenant(create_user().tenant_id):
        contact, keep, drop, new = make_contact(), make_tag(name="keep"), make_tag(name="drop"), make_tag(name="new")
        set_contact_tags(contact, [keep, drop])
        db.session.execute(delete(DomainEvent))
        set_contact_tags(contact, [keep, new])
        assert recorded() == [("tag.added", contact.id, new.id, {"tag": "new"}),
                              ("tag.removed", contact.id, drop.id, {"tag": "drop"})]


def test_an_inbound_message_records_its_new_contact_and_the_message_once(app, create_user, in_tenant,
                                                                        someone_listens):
    with in_tenant(create_user().tenant_id):
        channel = ensure_channel("sandbox")
        known = make_contact(phone="+14155550123")
        db.session.execute(delete(DomainEvent))
        for _ in range(2):  # the same delivery twice
            apply_events(channel, [
                InboundMessage(provider_message_id="wamid.1", wa_id="14155550199", timestamp=utcnow(), type="text",
                               text="PRICE please"),
                InboundMessage(provider_message_id="wamid.2", wa_id="14155550123", timestamp=utcnow(), type="text",
                               text="hi")])
        new_id = db.session.scalar(select(Contact.id).where(Contact.phone == "+14155550199"))
        first, second = (db.session.scalar(select(Message.id).where(Message.provider_message_id == p))
                         for p in ("wamid.1", "wamid.2"))
        assert recorded() == [("contact.created", new_id, None, {"source": "inbound"}),
                              ("message.received", new_id, first, {"text": "PRICE please", "type": "text"}),
                              ("message.received", known.id, second, {"text": "hi", "type": "text"})]


def test_a_receipt_that_moves_a_message_forward_records_its_status(app, create_user, in_tenant):
    with in_tenant(create_user().tenant_id):
        channel, contact = ensure_channel("sandbox"), make_contact()
        message = Message(contact_id=contact.id, direction="out", type="text", body="hi", status="sent",
                          provider_message_id="wamid.out")
        db.session.add(message)
        db.session.flush()
        db.session.execute(delete(DomainEvent))
        for status in ("delivered", "delivered", "read"):  # a repeated receipt changes nothing
            apply_events(channel, [StatusUpdate(provider_message_id="wamid.out", status=status, timestamp=utcnow())])
        assert recorded() == [("message.status", contact.id, message.id, {"status": "delivered", "error": None}),
                              ("message.status", contact.id, message.id, {"status": "read", "error": None})]


def test_a_cancelled_broadcast_records_that_it_finished_with_its_totals(app, create_user, in_tenant):
    from services.broadcasts.lifecycle import cancel

    with in_tenant(create_user().tenant_id):
        broadcast = Broadcast(name="Launch", status="draft", body="hi", audience={"kind": "all"})
        db.session.add(broadcast)
        db.session.flush()
        cancel(broadcast)
        assert recorded()[-1] == ("broadcast.finished", None, broadcast.id,
                                  {"status": "cancelled", "name": "Launch", "totals": {}})
