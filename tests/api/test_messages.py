"""/api/v1/conversations and messages: a conversation's messages, sends of text and media through the outbox, status."""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from extensions import db
from models import Contact, Tenant
from models.tenancy import tenant_scope
from tests.api.conftest import ApiClient, fields_of, problem_of
from tests.channels.conftest import app_overrides, gateway, graph  # noqa: F401  (the sandbox's fake servers)
from tests.inbox.conftest import sandbox_owner  # noqa: F401

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()


@pytest.fixture
def linked(app, sandbox_owner, make_key, run_jobs):
    """A workspace with its sandbox linked, a customer who wrote to it, and a read and write key."""
    phone = app.test_client()
    assert phone.post(sandbox_owner.phone_page + "/inbound", data={
        "from_number": "+14155550142", "name": "Zoe", "text": "Do you deliver?"}).status_code == 303
    run_jobs()
    client = ApiClient(app.test_client(), make_key(sandbox_owner), sandbox_owner.tenant_id)
    with app.app_context(), tenant_scope(sandbox_owner.tenant_id):
        client.contact_id = db.session.scalar(select(Contact.id).where(Contact.phone == "+14155550142"))
    return client


def test_conversations_and_their_messages(linked):
    listed = linked.get("/conversations").get_json()
    assert [c["id"] for c in listed["items"]] == [linked.contact_id] and listed["next_page"] is None
    assert linked.get("/conversations?state=resolved").get_json()["items"] == []
    messages = linked.get(f"/conversations/{linked.contact_id}/messages").get_json()
    assert [(m["direction"], m["body"]) for m in messages["items"]] == [("in", "Do you deliver?")]
    problem_of(linked.get("/conversations?state=closed"), 422)


def test_a_text_is_queued_sent_and_followed(linked, run_jobs):
    sent = linked.post(f"/conversations/{linked.contact_id}/messages",
                       json={"message": {"type": "text", "text": "Yes, every day"}})
    assert sent.status_code == 202, sent.get_json()
    message = sent.get_json()
    assert message["status"] == "queued" and message["direction"] == "out" and message["body"] == "Yes, every day"
    run_jobs()
    assert linked.get(f"/messages/{message['id']}").get_json()["status"] in ("sent", "delivered", "read")
    bodies = [m["body"] for m in linked.get(f"/conversations/{linked.contact_id}/messages").get_json()["items"]]
    assert bodies == ["Yes, every day", "Do you deliver?"]


def test_media_is_sent_from_base64(linked, run_jobs):
    sent = linked.post(f"/conversations/{linked.contact_id}/messages", json={"message": {
        "type": "media", "filename": "menu.png", "mime_type": "image/png", "data": PNG, "caption": "Menu"}})
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["type"] == "image"
    run_jobs()
    assert linked.get(f"/messages/{sent.get_json()['id']}").get_json()["status"] != "failed"
    bad = linked.post(f"/conversations/{linked.contact_id}/messages", json={"message": {
        "type": "media", "filename": "menu.png", "mime_type": "image/png", "data": "***"}})
    assert "message.data" in fields_of(problem_of(bad, 422))
    exe = linked.post(f"/conversations/{linked.contact_id}/messages", json={"message": {
        "type": "media", "filename": "x.exe", "mime_type": "application/x-msdownload", "data": PNG}})
    assert "cannot be sent" in problem_of(exe, 409)["detail"]


def test_refused_sends_say_why(app, linked, api):
    problem_of(linked.post(f"/conversations/{linked.contact_id}/messages", json={"message": {"type": "text"}}), 422)
    problem_of(linked.post(f"/conversations/{linked.contact_id}/messages", json={"message": {"type": "fax"}}), 422)
    template = linked.post(f"/conversations/{linked.contact_id}/messages",
                           json={"message": {"type": "template", "template_id": 5}})
    assert "message.template_id" in fields_of(problem_of(template, 422))
    # No WhatsApp linked: a conflict with the workspace's state, not bad input.
    mine = api.post("/contacts", json={"name": "Ann", "phone": "+14155550100"}).get_json()["id"]
    body = problem_of(api.post(f"/conversations/{mine}/messages", json={"message": {"type": "text", "text": "hi"}}),
                      409)
    assert "Link a WhatsApp number" in body["detail"]
    with app.app_context():
        db.session.get(Tenant, linked.tenant_id).quota_messages_per_day = 0
        db.session.commit()
    quota = linked.post(f"/conversations/{linked.contact_id}/messages", json={"message": {"type": "text", "text": "x"}})
    assert "Daily message limit" in problem_of(quota, 403)["detail"]


def test_another_workspaces_conversation_and_message_are_404(linked, api):
    their = linked.post(f"/conversations/{linked.contact_id}/messages",
                        json={"message": {"type": "text", "text": "private"}}).get_json()["id"]
    problem_of(api.get(f"/conversations/{linked.contact_id}/messages"), 404)
    problem_of(api.post(f"/conversations/{linked.contact_id}/messages",
                        json={"message": {"type": "text", "text": "hijack"}}), 404)
    problem_of(api.get(f"/messages/{their}"), 404)
    assert api.get("/conversations").get_json()["items"] == []
    assert len(linked.get(f"/conversations/{linked.contact_id}/messages").get_json()["items"]) == 2
