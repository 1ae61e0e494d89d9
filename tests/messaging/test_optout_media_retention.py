"""Opt-out keywords, inbound media download, templates and the retention job."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from extensions import db
from jobs.retention import prune_history
from models import Contact, Message, MessageTemplate, Tenant
from models.base import utcnow
from models.tenancy import tenant_scope
from services.channels import get_channel
from services.outbox import SendRefused, bulk_reachable, queue_template, queue_text
from services.templates import sync_templates
from tests.channels.helpers import channel_of, contacts_of, messages_of
from tests.fakes.cloud_webhooks import build_webhook, message_payload
from tests.messaging.conftest import APP_SECRET, PHONE_ID, WABA_ID
from whatsapp.signature import sign_payload


def post_cloud(app, tenant_id, payload):
    body = json.dumps(payload).encode()
    token = channel_of(app, tenant_id).webhook_token
    response = app.test_client().post(f"/webhooks/cloud/{token}", data=body,
                                      headers={"X-Hub-Signature-256": sign_payload(APP_SECRET, body)})
    assert response.status_code == 200


@pytest.mark.parametrize("word", ["STOP", "stop", " Stop. ", "Baja", "parar"])
def test_stop_keywords_opt_out_and_confirm_once(app, cloud_connected, graph, run_jobs, word):
    tenant = cloud_connected.tenant_id
    post_cloud(app, tenant, build_webhook(PHONE_ID, messages=[
        message_payload("text", {"body": word}, wa_id="14155550150")]))
    run_jobs()
    run_jobs()
    [contact] = contacts_of(app, tenant)
    assert contact.opted_out and contact.opted_out_at
    confirmations = [m for m in messages_of(app, tenant) if m.direction == "out"]
    assert len(confirmations) == 1 and "will not receive more messages" in confirmations[0].body
    assert confirmations[0].status == "sent"
    # A second STOP changes nothing and sends nothing.
    post_cloud(app, tenant, build_webhook(PHONE_ID, messages=[
        message_payload("text", {"body": "STOP"}, wa_id="14155550150")]))
    run_jobs()
    assert len([m for m in messages_of(app, tenant) if m.direction == "out"]) == 1


def test_a_sentence_containing_stop_is_not_an_opt_out(app, cloud_connected, run_jobs):
    tenant = cloud_connected.tenant_id
    post_cloud(app, tenant, build_webhook(PHONE_ID, messages=[
        message_payload("text", {"body": "please don't stop the offers"})]))
    run_jobs()
    assert not contacts_of(app, tenant)[0].opted_out


def test_start_opts_back_in(app, cloud_connected, run_jobs):
    tenant = cloud_connected.tenant_id
    for word in ("STOP", "START"):
        post_cloud(app, tenant, build_webhook(PHONE_ID, messages=[
        message_payload("text", {"body": word}, wa_id="14155550151")]))
        run_jobs()
    [contact] = contacts_of(app, tenant)
    assert not contact.opted_out
    bodies = [m.body for m in messages_of(app, tenant) if m.direction == "out"]
    assert len(bodies) == 2 and "subscribed to messages" in bodies[1]


def test_opted_out_contacts_are_refused_for_bulk_only(app, cloud_connected):
    tenant = cloud_connected.tenant_id
    with app.app_context(), tenant_scope(tenant):
        out = Contact(name="Out", phone="+14155550160", opted_out=True, last_inbound_at=utcnow())
        inside = Contact(name="In", phone="+14155550161", last_inbound_at=utcnow())
        db.session.add_all([out, inside])
        db.session.flush()
        with pytest.raises(SendRefused, match="opted out"):
            queue_text(out, "promo", bulk=True)
        queue_text(out, "a reply to their question")  # one-to-one conversation is still allowed
        audience = db.session.scalars(select(Contact.name).where(bulk_reachable())).all()
        assert audience == ["In"]


def test_tenant_edits_its_keywords(app, client, cloud_connected, run_jobs):
    tenant = cloud_connected.tenant_id
    response = client.post("/settings/", data={"name": "Cloud Co", "default_region": "US",
                                               "opt_out_keywords": "basta, chega", "opt_in_keywords": "volta",
                                               "retention_days": 30, "retention_max_messages": 500})
    assert response.status_code == 303
    clash = client.post("/settings/", data={"name": "Cloud Co", "default_region": "US", "opt_out_keywords": "stop",
                                            "opt_in_keywords": "STOP", "retention_days": 30,
                                            "retention_max_messages": 500})
    assert clash.status_code == 422 and "in both lists: STOP" in clash.get_data(as_text=True)
    post_cloud(app, tenant, build_webhook(PHONE_ID, messages=[
        message_payload("text", {"body": "Chega!"})]))
    run_jobs()
    assert contacts_of(app, tenant)[0].opted_out
    with app.app_context():
        assert db.session.get(Tenant, tenant).retention_days == 30


def test_inbound_media_is_downloaded_into_tenant_storage(app, client, cloud_connected, graph, run_jobs):
    tenant = cloud_connected.tenant_id
    media_id = graph.add_media(PHONE_ID, b"\x89PNG fake image bytes", "image/png")
    post_cloud(app, tenant, build_webhook(PHONE_ID, messages=[message_payload(
        "image", {"id": media_id, "mime_type": "image/png", "sha256": "x"})]))
    run_jobs()
    run_jobs()
    [message] = messages_of(app, tenant)
    assert message.media["size"] == len(b"\x89PNG fake image bytes")
    stored = Path(app.instance_path) / "media" / message.media["path"]
    assert stored.read_bytes() == b"\x89PNG fake image bytes"
    assert message.media["path"].startswith(f"{tenant}/")


def test_inbound_media_download_failure_is_written_on_the_message(app, cloud_connected, graph, run_jobs):
    tenant = cloud_connected.tenant_id
    post_cloud(app, tenant, build_webhook(PHONE_ID, messages=[message_payload(
        "document", {"id": "999000", "mime_type": "application/pdf", "filename": "gone.pdf"})]))
    run_jobs()
    run_jobs()
    [message] = messages_of(app, tenant)
    assert "path" not in message.media and message.media["error"].startswith("Could not download")


def test_outbound_image_uploads_then_sends_by_media_id(app, cloud_connected, graph, run_jobs):
    from services.outbox import queue_media

    tenant = cloud_connected.tenant_id
    with app.app_context(), tenant_scope(tenant):
        contact = Contact(name="Pic", phone="+14155550170", last_inbound_at=utcnow())
        db.session.add(contact)
        db.session.flush()
        queue_media(contact, b"\xff\xd8\xff jpeg", "photo.jpg", "image/jpeg", "Here it is")
        with pytest.raises(SendRefused, match="cannot be sent"):
            queue_media(contact, b"MZ", "tool.exe", "application/x-msdownload")
        with pytest.raises(SendRefused, match="up to 5 MB"):
            queue_media(contact, b"x" * (5 * 1024 * 1024 + 1), "huge.png", "image/png")
        db.session.commit()
    run_jobs()
    [message] = messages_of(app, tenant)
    assert message.status == "sent" and message.type == "image"
    sent = graph.sent[-1]
    assert sent["type"] == "image" and sent["image"]["caption"] == "Here it is" and sent["image"]["id"]


def test_templates_sync_and_send_with_variables(app, cloud_connected, graph, run_jobs):
    tenant = cloud_connected.tenant_id
    graph.add_template(WABA_ID, "order_update", "en_US", components=[
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} is ready."}])
    graph.add_template(WABA_ID, "promo", "en_US", status="REJECTED", components=[{"type": "BODY", "text": "Sale!"}])
    with app.app_context(), tenant_scope(tenant):
        assert sync_templates(get_channel()) == {"added": 2, "updated": 0, "removed": 0}
        db.session.commit()
        template = db.session.scalar(select(MessageTemplate).where(MessageTemplate.name == "order_update"))
        rejected = db.session.scalar(select(MessageTemplate).where(MessageTemplate.name == "promo"))
        assert template.variable_count == 2
        contact = Contact(name="Ana", phone="+14155550180")  # never wrote: window closed
        db.session.add(contact)
        db.session.flush()
        with pytest.raises(SendRefused, match="needs 2 value"):
            queue_template(contact, template, ["Ana"])
        with pytest.raises(SendRefused, match="not approved"):
            queue_template(contact, rejected, [])
        message = queue_template(contact, template, ["Ana", "#1042"])
        assert message.body == "Hi Ana, your order #1042 is ready."
        db.session.commit()
    run_jobs()
    sent = graph.sent[-1]
    assert sent["type"] == "template" and sent["template"]["name"] == "order_update"
    assert sent["template"]["components"] == [{"type": "body", "parameters": [
        {"type": "text", "text": "Ana"}, {"type": "text", "text": "#1042"}]}]
    with app.app_context(), tenant_scope(tenant):
        assert sync_templates(get_channel()) == {"added": 0, "updated": 2, "removed": 0}


def test_retention_prunes_by_age_and_count_with_files(app, sandbox_connected):
    from services.media_store import save_media

    tenant = sandbox_connected.tenant_id
    with app.app_context():
        db.session.get(Tenant, tenant).retention_days = 30
        db.session.get(Tenant, tenant).retention_max_messages = 3
        db.session.commit()
        with tenant_scope(tenant):
            contact = Contact(name="Old", phone="+14155550190")
            db.session.add(contact)
            db.session.flush()
            old_file = save_media(b"old", "image/png")
            db.session.add(Message(contact_id=contact.id, direction="in", type="image", status="received",
                                   media={"path": old_file}, created_at=utcnow() - timedelta(days=40)))
            for n in range(5):
                db.session.add(Message(contact_id=contact.id, direction="in", body=f"m{n}", status="received",
                                       created_at=utcnow() - timedelta(days=5 - n)))
            db.session.commit()
    assert prune_history()[tenant] == 3  # one too old, two beyond the count limit
    assert [m.body for m in messages_of(app, tenant)] == ["m2", "m3", "m4"]
    assert not (Path(app.instance_path) / "media" / old_file).exists()
