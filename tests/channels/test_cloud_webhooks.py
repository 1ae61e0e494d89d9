"""Cloud API webhooks: handshake, signatures, limits, routing, processing of every event."""
from __future__ import annotations

import json

import pytest

from tests.channels.conftest import APP_SECRET, PHONE_ID
from tests.channels.helpers import channel_of, contacts_of, events_of, messages_of
from tests.fakes.cloud_webhooks import (
    build_webhook,
    merge_webhooks,
    message_payload,
    status_payload,
    user_preferences_payload,
)
from whatsapp.signature import sign_payload


@pytest.fixture
def hook(app, cloud_tenant):
    """POSTs a signed body to the cloud tenant's webhook URL."""
    channel = channel_of(app, cloud_tenant.tenant_id)
    url = f"/webhooks/cloud/{channel.webhook_token}"
    client = app.test_client()

    def post(payload, *, secret=APP_SECRET, signature=None, raw=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature is not False:
            headers["X-Hub-Signature-256"] = signature or sign_payload(secret, body)
        return client.post(url, data=body, headers=headers)

    post.url, post.channel, post.tenant_id = url, channel, cloud_tenant.tenant_id
    return post


def test_handshake(app, hook):
    client = app.test_client()
    token = hook.channel.verify_token
    ok = client.get(f"{hook.url}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444")
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "1158201444"
    assert ok.mimetype == "text/plain"
    assert client.get(f"{hook.url}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1").status_code == 403
    assert client.get(f"{hook.url}?hub.mode=unsubscribe&hub.verify_token={token}&hub.challenge=1").status_code == 403
    assert client.get(f"/webhooks/cloud/unknown-token?hub.mode=subscribe&hub.verify_token={token}").status_code == 404


def test_signature_is_checked_before_parsing(app, hook):
    payload = build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "hi"})])
    assert hook(payload, signature=False).status_code == 401
    assert hook(payload, secret="f" * 32).status_code == 403
    assert hook(None, raw=b"{not json", signature="sha256=" + "0" * 64).status_code == 403  # never parsed
    assert events_of(app, hook.tenant_id) == []
    assert hook(payload).status_code == 200
    assert len(events_of(app, hook.tenant_id)) == 1


def test_malformed_and_oversize_bodies(app, hook):
    assert hook(None, raw=b"{not json").status_code == 400
    assert hook(None, raw=b"[1, 2]").status_code == 400
    big = b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
    assert hook(None, raw=big).status_code == 413
    assert events_of(app, hook.tenant_id) == []


def test_unknown_token_is_404(app, hook):
    client = app.test_client()
    response = client.post("/webhooks/cloud/nope", data=b"{}", headers={"X-Hub-Signature-256": "sha256=00"})
    assert response.status_code == 404


def test_inbound_text_creates_contact_and_message(app, hook, run_jobs):
    payload = build_webhook(PHONE_ID,
                            messages=[message_payload("text", {"body": "Hello there"}, wa_id="5511987654321")],
                            profile_names={"5511987654321": "Ana Souza"})
    assert hook(payload).status_code == 200
    assert messages_of(app, hook.tenant_id) == []  # processing happens in the job, not the request
    run_jobs()
    [contact] = contacts_of(app, hook.tenant_id)
    assert contact.phone == "+5511987654321" and contact.name == "Ana Souza" and contact.last_inbound_at
    [message] = messages_of(app, hook.tenant_id)
    assert message.direction == "in" and message.body == "Hello there" and message.status == "received"
    [event] = events_of(app, hook.tenant_id)
    assert event.processed_at is not None and event.error is None


def test_every_message_type_is_stored(app, hook, run_jobs):
    kinds = [
        message_payload("text", {"body": "t"}),
        message_payload("image", {"id": "m1", "mime_type": "image/jpeg", "sha256": "x", "caption": "pic"}),
        message_payload("document", {"id": "m2", "mime_type": "application/pdf", "filename": "a.pdf"}),
        message_payload("audio", {"id": "m3", "mime_type": "audio/ogg"}),
        message_payload("video", {"id": "m4", "mime_type": "video/mp4"}),
        message_payload("sticker", {"id": "m5", "mime_type": "image/webp"}),
        message_payload("location", {"latitude": 1.5, "longitude": 2.5, "name": "Shop"}),
        message_payload("contacts", {"contacts": [{"name": {"formatted_name": "Bo"}, "phones": [{"phone": "+1"}]}]}),
        message_payload("interactive", {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}),
        message_payload("button", {"text": "Stop promotions", "payload": "STOP"}),
        message_payload("reaction", {"message_id": "wamid.abc", "emoji": "👍"}),
        message_payload("unsupported", None, errors=[{"code": 131051, "title": "Unsupported"}]),
    ]
    assert hook(build_webhook(PHONE_ID, messages=kinds)).status_code == 200
    run_jobs()
    stored = messages_of(app, hook.tenant_id)
    assert len(stored) == len(kinds)
    by_type = {m.type: m for m in stored}
    assert by_type["image"].media["media_id"] == "m1" and by_type["image"].media["caption"] == "pic"
    assert by_type["document"].media["filename"] == "a.pdf"
    assert by_type["interactive"].body == "Yes"
    assert by_type["reaction"].context_message_id == "wamid.abc"
    assert "unsupported" in by_type


def test_every_entry_and_change_is_handled(app, hook, run_jobs):
    first = build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "one"}, wa_id="14155550101")])
    second = build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "two"}, wa_id="14155550102")])
    assert hook(merge_webhooks(first, second)).status_code == 200
    assert hook(merge_webhooks(first, second, same_entry=True)).status_code == 200  # duplicates
    run_jobs()
    assert sorted(m.body for m in messages_of(app, hook.tenant_id)) == ["one", "two"]


def test_duplicate_deliveries_are_stored_once(app, hook, run_jobs):
    payload = build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "once"}, message_id="wamid.dup")])
    for _ in range(3):
        assert hook(payload).status_code == 200
    run_jobs()
    assert [m.body for m in messages_of(app, hook.tenant_id)] == ["once"]
    assert len(events_of(app, hook.tenant_id)) == 3  # every delivery is kept as received


def test_foreign_phone_number_id_is_ignored(app, hook, run_jobs, caplog):
    payload = build_webhook("999999999999", messages=[message_payload("text", {"body": "not ours"})])
    assert hook(payload).status_code == 200
    run_jobs()
    assert messages_of(app, hook.tenant_id) == []
    assert "phone_number_id" in caplog.text


def test_statuses_are_monotonic_and_failed_keeps_reason(app, hook, run_jobs, in_tenant):
    from models import Message
    from tests.factories import make_contact

    with in_tenant(hook.tenant_id) as session:
        contact = make_contact(phone="+15551234567")
        for pid in ("wamid.a", "wamid.b"):
            session.add(Message(contact_id=contact.id, direction="out", body="x", status="queued",
                                provider_message_id=pid))
    # Out of order: read arrives before delivered, then a late "sent".
    hook(build_webhook(PHONE_ID, statuses=[status_payload("wamid.a", "read")]))
    hook(build_webhook(PHONE_ID, statuses=[status_payload("wamid.a", "delivered")]))
    hook(build_webhook(PHONE_ID, statuses=[status_payload("wamid.a", "sent")]))
    hook(build_webhook(PHONE_ID, statuses=[status_payload("wamid.b", "failed", error_code=131026,
                                                          error_title="Message undeliverable")]))
    hook(build_webhook(PHONE_ID, statuses=[status_payload("wamid.b", "delivered")]))
    run_jobs()
    a, b = messages_of(app, hook.tenant_id)
    assert a.status == "read" and a.read_at and a.delivered_at and a.sent_at
    assert b.status == "failed" and b.error_code == "131026" and b.error_title == "Message undeliverable"


def test_opt_out_signals_mark_the_contact(app, hook, run_jobs, in_tenant):
    from models import Message
    from tests.factories import make_contact

    with in_tenant(hook.tenant_id) as session:
        contact = make_contact(phone="+15551230001")
        session.add(Message(contact_id=contact.id, direction="out", status="sent", provider_message_id="wamid.o"))
    hook(build_webhook(PHONE_ID, statuses=[status_payload("wamid.o", "failed", recipient_id="15551230001",
                                                          error_code=131050)]))
    hook(build_webhook(PHONE_ID, user_preferences=[user_preferences_payload("15551230002", "stop")]))
    run_jobs()
    contacts = {c.phone: c for c in contacts_of(app, hook.tenant_id)}
    assert contacts["+15551230001"].opted_out and contacts["+15551230002"].opted_out


def test_routing_between_two_tenants(app, hook, run_jobs, create_user, login, cloud_credentials):
    other = create_user(tenant_name="Other")
    other_client = login(other, test_client=app.test_client())
    creds = {**cloud_credentials, "phone_number_id": "222222222222", "app_secret": "ab" * 16}
    assert other_client.post("/settings/whatsapp/cloud", data=creds).status_code == 303
    other_channel = channel_of(app, other.tenant_id)
    body = json.dumps(build_webhook("222222222222", messages=[message_payload("text", {"body": "for other"})])).encode()
    # Signed with the first tenant's secret, sent to the other's URL: refused.
    wrong = app.test_client().post(f"/webhooks/cloud/{other_channel.webhook_token}", data=body,
                                   headers={"X-Hub-Signature-256": sign_payload(APP_SECRET, body)})
    assert wrong.status_code == 403
    right = app.test_client().post(f"/webhooks/cloud/{other_channel.webhook_token}", data=body,
                                   headers={"X-Hub-Signature-256": sign_payload("ab" * 16, body)})
    assert right.status_code == 200
    hook(build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "for first"})]))
    run_jobs()
    assert [m.body for m in messages_of(app, other.tenant_id)] == ["for other"]
    assert [m.body for m in messages_of(app, hook.tenant_id)] == ["for first"]


def test_failed_processing_says_why_on_the_event(app, hook, run_jobs, monkeypatch):
    import services.inbound

    def explode(channel, events, *_):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("jobs.webhooks.apply_events", explode)
    hook(build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "x"})]))
    run_jobs()
    [event] = events_of(app, hook.tenant_id)
    assert event.processed_at is None and "database hiccup" in event.error
    assert services.inbound  # the real module is untouched


def test_lost_jobs_are_swept_up(app, hook, run_jobs):
    from datetime import timedelta

    from sqlalchemy import update

    from extensions import db
    from jobs.webhooks import requeue_stale_events
    from models import WebhookEvent
    from models.base import utcnow
    from models.tenancy import tenant_scope

    hook(build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "late"})]))
    with app.app_context():
        app.extensions["messagehub.redis"].flushdb()  # Redis lost the job
        with tenant_scope(hook.tenant_id):
            db.session.execute(update(WebhookEvent).values(received_at=utcnow() - timedelta(minutes=5)))
            db.session.commit()
    assert requeue_stale_events() == 1
    run_jobs()
    assert [m.body for m in messages_of(app, hook.tenant_id)] == ["late"]
