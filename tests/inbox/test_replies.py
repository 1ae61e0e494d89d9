"""The thread and the reply box: polling, sending through the sandbox, refusals and retries."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Channel, Contact, Message
from models.base import utcnow
from models.tenancy import tenant_scope
from tests.channels.helpers import messages_of
from tests.factories import make_contact
from tests.inbox.conftest import HX, add_message, hx

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def thread_version(client, contact_id) -> str:
    html = client.get(f"/inbox/{contact_id}/thread", headers=hx("thread")).get_data(as_text=True)
    return re.search(r'id="thread"[^>]*data-version="([0-9a-f]+)"', html).group(1)


@pytest.fixture
def customer(app, sandbox_owner, run_jobs):
    """A customer who wrote to the sandbox; returns the contact id."""
    phone = app.test_client()
    assert phone.post(sandbox_owner.phone_page + "/inbound", data={
        "from_number": "+14155550142", "name": "Zoe", "text": "Do you deliver?"}).status_code == 303
    run_jobs()
    with app.app_context(), tenant_scope(sandbox_owner.tenant_id):
        return db.session.scalar(select(Contact.id).where(Contact.phone == "+14155550142"))


def test_thread_poll_is_204_until_a_message_or_status_changes(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Poll")
        add_message(contact, "in", "hello")
        sent = add_message(contact, "out", "hi there", status="sent")
        contact_id, sent_id = contact.id, sent.id
    version = thread_version(client, contact_id)
    assert client.get(f"/inbox/{contact_id}/thread?v={version}", headers=hx("thread")).status_code == 204
    with in_tenant(owner.tenant_id):
        message = db.session.get(Message, sent_id)
        assert message.apply_status("delivered")
    changed = client.get(f"/inbox/{contact_id}/thread?v={version}", headers=hx("thread"))
    assert changed.status_code == 200
    assert re.search(rf'id="message-{sent_id}"[^>]*data-status="delivered"', changed.get_data(as_text=True))
    version = thread_version(client, contact_id)
    with in_tenant(owner.tenant_id):
        add_message(db.session.get(Contact, contact_id), "in", "a new question")
    changed = client.get(f"/inbox/{contact_id}/thread?v={version}", headers=hx("thread"))
    assert changed.status_code == 200 and "a new question" in changed.get_data(as_text=True)


def test_thread_shows_the_last_100_and_loads_earlier(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Chatty")
        for n in range(130):
            add_message(contact, "in", f"message number {n:03d}", minutes_ago=200 - n)
        contact_id = contact.id
    page = client.get(f"/inbox/{contact_id}").get_data(as_text=True)
    page = page[page.index('id="thread"'):]  # the conversation list also previews the newest one
    assert "message number 030" in page and "message number 029" not in page
    assert page.index("message number 030") < page.index("message number 129")  # oldest first
    assert "Load earlier messages" in page
    earlier = client.get(f"/inbox/{contact_id}/thread?size=200", headers=hx("thread")).get_data(as_text=True)
    assert "message number 000" in earlier and "Load earlier messages" not in earlier


def test_reply_is_queued_sent_through_the_sandbox_and_read(app, client, customer, sandbox_owner, run_jobs):
    page = client.get(f"/inbox/{customer}").get_data(as_text=True)
    assert "Do you deliver?" in page and 'id="reply-body"' in page
    response = client.post(f"/inbox/{customer}/messages", data={"body": "  Yes, every weekday.  "},
                           headers=hx("reply-box"))
    assert response.status_code == 200
    assert "inbox:sent" in response.headers["HX-Trigger"]
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="reply-box"') and "Yes, every weekday" not in html
    reply = messages_of(app, sandbox_owner.tenant_id)[-1]
    assert (reply.direction, reply.body, reply.status, reply.origin) == (
        "out", "Yes, every weekday.", "queued", "inbox")
    run_jobs()  # the send job, which schedules the receipts
    assert messages_of(app, sandbox_owner.tenant_id)[-1].status in ("sent", "delivered", "read")
    for _ in range(4):  # receipts are events, processed like webhooks
        run_jobs()
    reply = messages_of(app, sandbox_owner.tenant_id)[-1]
    assert reply.status == "read" and reply.read_at is not None
    thread = client.get(f"/inbox/{customer}/thread", headers=hx("thread")).get_data(as_text=True)
    assert re.search(rf'id="message-{reply.id}"[^>]*data-status="read"', thread)
    assert 'class="status status-read"' in thread


def test_non_js_reply_redirects_back(app, client, customer, sandbox_owner):
    response = client.post(f"/inbox/{customer}/messages", data={"body": "plain form"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/inbox/{customer}")
    assert messages_of(app, sandbox_owner.tenant_id)[-1].body == "plain form"


def test_image_reply_is_stored_and_sent(app, client, customer, sandbox_owner, run_jobs):
    response = client.post(f"/inbox/{customer}/messages", headers=HX, content_type="multipart/form-data",
                           data={"body": "Our menu", "attachment": (io.BytesIO(PNG), "menu.png", "image/png")})
    assert response.status_code == 200
    message = messages_of(app, sandbox_owner.tenant_id)[-1]
    assert (message.type, message.body, message.media["filename"]) == ("image", "Our menu", "menu.png")
    served = client.get(f"/inbox/media/{message.id}")
    assert served.status_code == 200 and served.data == PNG and served.mimetype == "image/png"
    run_jobs()
    assert messages_of(app, sandbox_owner.tenant_id)[-1].status != "failed"


@pytest.mark.parametrize("data, message", [
    ({"body": "   "}, "Write a message first."),
    ({"body": "x" * 4097}, "at most 4096 characters"),
    ({"body": "see file", "attachment": (io.BytesIO(b"MZ\x90\x00"), "setup.exe", "application/x-msdownload")},
     "cannot be sent"),
    ({"body": "big photo", "attachment": (io.BytesIO(b"\xff\xd8" + b"\0" * (5 * 1024 * 1024 + 10)), "huge.jpg",
                                          "image/jpeg")}, "up to 5 MB"),
])
def test_refused_reply_keeps_the_text_and_queues_nothing(app, client, customer, sandbox_owner, data, message):
    before = len(messages_of(app, sandbox_owner.tenant_id))
    response = client.post(f"/inbox/{customer}/messages", data=data, headers=hx("reply-box"),
                           content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'role="alert"' in html
    if len(data["body"]) < 100 and data["body"].strip():
        assert f">{data['body']}</textarea>" in html  # what was typed is still there
    assert len(messages_of(app, sandbox_owner.tenant_id)) == before


def test_refusal_without_javascript_rerenders_the_page(app, client, customer, sandbox_owner):
    response = client.post(f"/inbox/{customer}/messages", data={"body": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" in html and "Write a message first." in html and "Do you deliver?" in html


def test_no_linked_channel_refuses_clearly(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Nobody Linked")
        add_message(contact)
        contact_id = contact.id
    response = client.post(f"/inbox/{contact_id}/messages", data={"body": "hello?"}, headers=hx("reply-box"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Link a WhatsApp number in Settings" in html and ">hello?</textarea>" in html
    assert len(messages_of(app, owner.tenant_id)) == 1


def test_paused_channel_shows_a_banner(app, client, customer, sandbox_owner):
    with app.app_context(), tenant_scope(sandbox_owner.tenant_id):
        channel = db.session.scalar(select(Channel))
        channel.paused_at, channel.paused_reason = utcnow(), "the access token expired"
        db.session.commit()
    page = client.get(f"/inbox/{customer}").get_data(as_text=True)
    assert "Sending is paused: the access token expired" in page


def test_failed_message_shows_why_and_can_be_retried(app, client, customer, sandbox_owner, run_jobs):
    with app.app_context(), tenant_scope(sandbox_owner.tenant_id):
        contact = db.session.get(Contact, customer)
        failed = add_message(contact, "out", "did not go", status="failed", error_title="The number is not on WhatsApp")
        db.session.commit()
        failed_id = failed.id
    page = client.get(f"/inbox/{customer}").get_data(as_text=True)
    assert "Not delivered: The number is not on WhatsApp" in page
    assert f'action="/inbox/messages/{failed_id}/retry"' in page
    response = client.post(f"/inbox/messages/{failed_id}/retry", headers=hx("thread"))
    assert response.status_code == 200
    assert re.search(rf'id="message-{failed_id}"[^>]*data-status="queued"', response.get_data(as_text=True))
    run_jobs()
    assert next(m for m in messages_of(app, sandbox_owner.tenant_id) if m.id == failed_id).status != "failed"
    again = client.post(f"/inbox/messages/{failed_id}/retry", headers=hx("thread"))
    assert again.status_code == 422 and "Only failed messages can be retried." in again.get_data(as_text=True)


def test_message_kinds_render_sensibly(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Kinds")
        target = add_message(contact, "out", "Your order", provider_message_id="wamid.T1")
        add_message(contact, "in", None, type="reaction", context_message_id="wamid.T1", payload={"emoji": "👍"})
        add_message(contact, "in", "Location: Shop", type="location",
                    payload={"latitude": 51.5, "longitude": -0.12, "name": "Shop", "address": "1 High St"})
        add_message(contact, "in", "Shared contact", type="contacts",
                    payload={"contacts": [{"name": {"formatted_name": "Ann Lee"}, "phones": [{"phone": "+1 555"}]}]})
        add_message(contact, "in", "the invoice", type="document",
                    media={"media_id": "9", "mime_type": "application/pdf", "filename": "invoice.pdf"})
        add_message(contact, "in", None, type="unsupported", payload={"original_type": "poll"})
        contact_id, target_id = contact.id, target.id
    html = client.get(f"/inbox/{contact_id}").get_data(as_text=True)
    assert "👍</span> reacted to “Your order”" in html
    assert "openstreetmap.org/?mlat=51.5&amp;mlon=-0.12" in html and "1 High St" in html
    assert "Ann Lee" in html and "+1 555" in html
    assert "invoice.pdf · downloading…" in html  # not downloaded yet: no link to a missing file
    assert "(poll) cannot be shown here" in html
    assert re.search(rf'id="message-{target_id}" class="bubble bubble-out', html)
