"""Webhook bodies over the limit are refused whole, chunked or not; what is accepted is committed before the answer."""
from __future__ import annotations

import http.client
import io
import json
from urllib.parse import urlsplit

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from models import Channel
from services.channels import regenerate_webhook_tokens
from services.queueing import DEFAULT_QUEUE, INBOUND_QUEUE, queue
from tests.channels.conftest import APP_SECRET, PHONE_ID
from tests.channels.helpers import channel_of, events_of
from tests.fakes.cloud_webhooks import build_webhook, message_payload
from whatsapp.signature import sign_payload

CHUNK = 16 * 1024


def padded(payload: dict, size: int) -> bytes:
    """`payload` as JSON with a padding field, exactly `size` bytes long."""
    skeleton = json.dumps({**payload, "padding": ""}).encode()
    assert size >= len(skeleton)
    return json.dumps({**payload, "padding": "a" * (size - len(skeleton))}).encode()


def post_chunked(base_url: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST `body` to the live server with Transfer-Encoding: chunked and no Content-Length."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        chunks = (body[i:i + CHUNK] for i in range(0, len(body), CHUNK))
        conn.request("POST", path, body=chunks, encode_chunked=True,
                     headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json", **headers})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def limit(app):
    return app.config["WEBHOOK_MAX_BYTES"]


@pytest.fixture
def cloud_path(app, cloud_tenant):
    return f"/webhooks/cloud/{channel_of(app, cloud_tenant.tenant_id).webhook_token}"


@pytest.fixture
def gateway_channel(create_user, in_tenant, app):
    """A tenant whose channel is a gateway instance; yields (tenant id, webhook path, instance name)."""
    from services.channels import ensure_channel

    user = create_user(tenant_name="Gateway Co")
    with in_tenant(user.tenant_id):
        channel = ensure_channel(Channel.GATEWAY)
        channel.instance_name = "gw-instance-0123456789abcdef"
    channel = channel_of(app, user.tenant_id)
    return user.tenant_id, f"/webhooks/gateway/{channel.webhook_token}", channel.instance_name


def signed(body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": sign_payload(APP_SECRET, body)}


def cloud_payload() -> dict:
    return build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "hello"})])


def test_chunked_cloud_body_over_the_limit_is_refused(app, live_server, cloud_tenant, cloud_path, limit):
    body = padded(cloud_payload(), limit + 1)
    status, _ = post_chunked(live_server, cloud_path, body, signed(body))
    assert status == 413
    assert events_of(app, cloud_tenant.tenant_id) == []


def test_chunked_gateway_body_over_the_limit_is_refused(app, live_server, gateway_channel, limit):
    tenant_id, path, instance = gateway_channel
    body = padded({"event": "messages.upsert", "instance": instance, "data": {}}, limit + CHUNK)
    status, _ = post_chunked(live_server, path, body, {})
    assert status == 413
    assert events_of(app, tenant_id) == []


def test_chunked_body_at_the_limit_is_stored_whole(app, live_server, cloud_tenant, cloud_path, limit):
    body = padded(cloud_payload(), limit)
    status, answer = post_chunked(live_server, cloud_path, body, signed(body))
    assert (status, answer) == (200, b"OK")
    [event] = events_of(app, cloud_tenant.tenant_id)
    assert event.body.encode() == body


def test_unterminated_stream_over_the_limit_is_refused(app, cloud_tenant, cloud_path, limit):
    """A server that terminates the stream itself passes no Content-Length (chunked under gunicorn)."""
    body = padded(cloud_payload(), limit + 1)
    environ = EnvironBuilder(cloud_path, method="POST", input_stream=io.BytesIO(body), headers=signed(body),
                             content_type="application/json").get_environ()
    del environ["CONTENT_LENGTH"]  # the test client measures the stream; a chunked request has no length
    environ["wsgi.input_terminated"] = True
    response = app.test_client().open(Request(environ))
    assert response.status_code == 413
    assert events_of(app, cloud_tenant.tenant_id) == []


def test_content_length_over_the_limit_is_refused_unread(app, cloud_tenant, cloud_path, limit):
    body = padded(cloud_payload(), limit + 1)
    response = app.test_client().post(cloud_path, data=body, headers=signed(body), content_type="application/json")
    assert response.status_code == 413
    assert events_of(app, cloud_tenant.tenant_id) == []


def test_event_is_committed_before_its_job_is_enqueued_on_the_inbound_queue(app, cloud_tenant, cloud_path,
                                                                            monkeypatch):
    import services.queueing

    seen = []
    real = services.queueing.queue

    def spying_queue(name=DEFAULT_QUEUE):
        # Read through the test's own app context: only committed rows are visible there.
        seen.append((name, len(events_of(app, cloud_tenant.tenant_id))))
        return real(name)

    monkeypatch.setattr(services.queueing, "queue", spying_queue)
    body = json.dumps(cloud_payload()).encode()
    response = app.test_client().post(cloud_path, data=body, headers=signed(body), content_type="application/json")
    assert response.status_code == 200
    assert seen == [(INBOUND_QUEUE, 1)]
    monkeypatch.undo()
    with app.app_context():
        assert queue(INBOUND_QUEUE).count == 1 and queue(DEFAULT_QUEUE).count == 0
        [job] = queue(INBOUND_QUEUE).jobs
        assert len(events_of(app, cloud_tenant.tenant_id)) == 1
        # The tenant's drain job processes every stored event, this one included.
        assert job.func_name == "jobs.webhooks.drain_webhook_events"
        assert job.args == (cloud_tenant.tenant_id,)


def test_redis_down_still_answers_200_with_the_event_committed(app, cloud_tenant, cloud_path, monkeypatch):
    from redis.exceptions import ConnectionError as RedisDown

    import services.queueing

    def down(*args, **kwargs):
        raise RedisDown("Redis is away")

    monkeypatch.setattr(services.queueing, "queue", down)
    body = json.dumps(cloud_payload()).encode()
    response = app.test_client().post(cloud_path, data=body, headers=signed(body), content_type="application/json")
    assert response.status_code == 200
    [event] = events_of(app, cloud_tenant.tenant_id)
    assert event.body.encode() == body and event.processed_at is None  # the sweep enqueues it later


def test_a_failed_commit_enqueues_nothing(app, cloud_tenant, cloud_path, monkeypatch):
    from sqlalchemy.orm import Session

    def refuse(self):
        raise RuntimeError("commit refused")

    monkeypatch.setattr(Session, "commit", refuse)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    body = json.dumps(cloud_payload()).encode()
    response = app.test_client().post(cloud_path, data=body, headers=signed(body), content_type="application/json")
    assert response.status_code == 500
    monkeypatch.undo()
    assert events_of(app, cloud_tenant.tenant_id) == []
    with app.app_context():
        assert queue(INBOUND_QUEUE).count == 0 and queue(DEFAULT_QUEUE).count == 0


def test_a_regenerated_url_stops_working_at_once(app, cloud_tenant, cloud_path, in_tenant):
    """Known URL tokens are remembered per process; a stale one must never reach a channel."""
    body = json.dumps(cloud_payload()).encode()
    client = app.test_client()
    assert client.post(cloud_path, data=body, headers=signed(body), content_type="application/json").status_code == 200
    with in_tenant(cloud_tenant.tenant_id) as session:
        from sqlalchemy import select

        regenerate_webhook_tokens(session.scalar(select(Channel)))
    assert client.post(cloud_path, data=body, headers=signed(body), content_type="application/json").status_code == 404
    new_path = f"/webhooks/cloud/{channel_of(app, cloud_tenant.tenant_id).webhook_token}"
    assert client.post(new_path, data=body, headers=signed(body), content_type="application/json").status_code == 200
    assert len(events_of(app, cloud_tenant.tenant_id)) == 2


def test_a_body_that_is_not_utf8_is_refused_not_a_server_error(app, cloud_tenant, cloud_path):
    body = json.dumps(cloud_payload()).encode("utf-16")  # valid JSON to json.loads, but not storable text
    response = app.test_client().post(cloud_path, data=body, headers=signed(body), content_type="application/json")
    assert response.status_code == 400
    assert events_of(app, cloud_tenant.tenant_id) == []


def test_the_gateway_instance_token_in_a_body_is_not_stored(app, client, create_user, login, gateway, live_server):
    from tests.channels.helpers import channel_of, events_of

    user = create_user()
    login(user)
    assert client.post("/settings/whatsapp/qr").status_code == 303
    channel = channel_of(app, user.tenant_id)
    body = {"event": "messages.upsert", "instance": channel.instance_name, "apikey": "instance-token-secret-123",
            "data": {"key": {"remoteJid": "5511912345678@s.whatsapp.net", "fromMe": False, "id": "ABC"},
                     "message": {"conversation": "hi"}, "messageTimestamp": 1700000000}}
    response = app.test_client().post(f"/webhooks/gateway/{channel.webhook_token}", json=body)
    assert response.status_code == 200
    [event] = events_of(app, user.tenant_id)
    assert "instance-token-secret-123" not in event.body and '"conversation": "hi"' in event.body
