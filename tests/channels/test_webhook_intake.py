"""The webhook hot path: channels cached per process but checked when storing, one drain job per tenant."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

import jobs.webhooks
from extensions import db
from models import Channel
from services.channels import regenerate_webhook_tokens
from services.linking import disconnect_channel
from services.queueing import INBOUND_QUEUE, queue
from tests.channels.conftest import PHONE_ID
from tests.channels.helpers import channel_of, events_of, messages_of
from tests.channels.test_webhook_limits import cloud_path, gateway_channel, signed  # noqa: F401 (fixtures)
from tests.fakes.cloud_webhooks import build_webhook, message_payload
from whatsapp.signature import sign_payload


def delivery(text: str) -> bytes:
    return json.dumps(build_webhook(PHONE_ID, messages=[message_payload("text", {"body": text})])).encode()


def post(app, path: str, body: bytes, headers: dict[str, str]):
    return app.test_client().post(path, data=body, headers=headers, content_type="application/json")


def inbound_jobs(app) -> list:
    with app.app_context():
        return queue(INBOUND_QUEUE).jobs


def drains_finished(app) -> int:
    """Webhook drain jobs finished so far (the domain-event dispatches they lead to are not counted)."""
    from rq.job import Job

    with app.app_context():
        inbound = queue(INBOUND_QUEUE)
        jobs = Job.fetch_many(inbound.finished_job_registry.get_job_ids(), connection=inbound.connection)
    return sum(1 for job in jobs if job is not None and job.func_name == "jobs.webhooks.drain_webhook_events")


def test_a_burst_for_one_tenant_enqueues_one_drain_that_stores_every_message(app, cloud_tenant, cloud_path,
                                                                             run_jobs):
    for n in range(5):
        body = delivery(f"burst {n}")
        assert post(app, cloud_path, body, signed(body)).status_code == 200
    [job] = inbound_jobs(app)
    assert (job.func_name, job.args) == ("jobs.webhooks.drain_webhook_events", (cloud_tenant.tenant_id,))
    run_jobs()
    assert drains_finished(app) == 1
    assert sorted(m.body for m in messages_of(app, cloud_tenant.tenant_id)) == [f"burst {n}" for n in range(5)]
    assert all(e.processed_at is not None for e in events_of(app, cloud_tenant.tenant_id))


def test_a_delivery_after_the_drain_finished_enqueues_a_new_one(app, cloud_tenant, cloud_path, run_jobs):
    first = delivery("first")
    post(app, cloud_path, first, signed(first))
    run_jobs()
    assert drains_finished(app) == 1
    second = delivery("second")
    post(app, cloud_path, second, signed(second))
    assert len(inbound_jobs(app)) == 1, "the finished drain released its key"
    run_jobs()
    assert drains_finished(app) == 2
    assert sorted(m.body for m in messages_of(app, cloud_tenant.tenant_id)) == ["first", "second"]


def test_a_delivery_stored_while_the_drain_releases_its_key_is_not_stranded(app, cloud_tenant, cloud_path,
                                                                             monkeypatch):
    """The drain looks once more after letting go of its key: a delivery that found the key held is seen."""
    first = delivery("first")
    post(app, cloud_path, first, signed(first))
    late = delivery("late")
    real_release = jobs.webhooks.release_flight

    def release_after_a_late_delivery(key):
        monkeypatch.setattr(jobs.webhooks, "release_flight", real_release)
        # Stored while the key is still held: this request enqueues nothing.
        assert post(app, cloud_path, late, signed(late)).status_code == 200
        real_release(key)

    monkeypatch.setattr(jobs.webhooks, "release_flight", release_after_a_late_delivery)
    with app.app_context():
        queue(INBOUND_QUEUE).empty()
    assert jobs.webhooks.drain_webhook_events(cloud_tenant.tenant_id) == 2
    assert sorted(m.body for m in messages_of(app, cloud_tenant.tenant_id)) == ["first", "late"]


def test_a_long_drain_hands_its_worker_on_with_a_continuation(app, cloud_tenant, cloud_path, monkeypatch,
                                                              run_jobs):
    for n in range(3):
        body = delivery(f"turn {n}")
        post(app, cloud_path, body, signed(body))
    with app.app_context():
        queue(INBOUND_QUEUE).empty()
    monkeypatch.setattr(jobs.webhooks, "DRAIN_SECONDS", 0)
    assert jobs.webhooks.drain_webhook_events(cloud_tenant.tenant_id) == 1
    # Beside it, the dispatch of the first message's domain events.
    [continuation] = [job for job in inbound_jobs(app) if job.func_name != "jobs.events.dispatch_events"]
    assert continuation.func_name == "jobs.webhooks.drain_webhook_events"
    run_jobs()
    assert len(messages_of(app, cloud_tenant.tenant_id)) == 3


def test_a_regenerated_url_is_refused_at_once_although_the_old_one_was_cached(app, cloud_tenant, cloud_path,
                                                                              in_tenant):
    body = delivery("before")
    assert post(app, cloud_path, body, signed(body)).status_code == 200
    with in_tenant(cloud_tenant.tenant_id):
        regenerate_webhook_tokens(db.session.scalar(select(Channel)))
    again = delivery("after")
    assert post(app, cloud_path, again, signed(again)).status_code == 404
    new_path = f"/webhooks/cloud/{channel_of(app, cloud_tenant.tenant_id).webhook_token}"
    assert post(app, new_path, again, signed(again)).status_code == 200
    assert len(events_of(app, cloud_tenant.tenant_id)) == 2


def test_a_new_app_secret_takes_over_at_once_although_the_old_one_was_cached(app, client, cloud_tenant,
                                                                             cloud_path, cloud_credentials):
    body = delivery("old secret")
    assert post(app, cloud_path, body, signed(body)).status_code == 200
    new_secret = "fedcba9876543210fedcba9876543210"
    response = client.post("/settings/whatsapp/cloud", data={**cloud_credentials, "app_secret": new_secret})
    assert response.status_code == 303
    stale = delivery("signed with the old secret")
    assert post(app, cloud_path, stale, signed(stale)).status_code == 403
    fresh = delivery("signed with the new secret")
    assert post(app, cloud_path, fresh, {"X-Hub-Signature-256": sign_payload(new_secret, fresh)}).status_code == 200
    assert len(events_of(app, cloud_tenant.tenant_id)) == 2


def test_an_unlinked_channel_refuses_deliveries_although_it_was_cached(app, cloud_tenant, cloud_path, in_tenant):
    body = delivery("linked")
    assert post(app, cloud_path, body, signed(body)).status_code == 200
    with in_tenant(cloud_tenant.tenant_id):
        disconnect_channel(db.session.scalar(select(Channel)))
    assert post(app, cloud_path, body, signed(body)).status_code == 404


def test_a_gateway_instance_renamed_under_the_cache_is_checked_again(app, gateway_channel, in_tenant):
    tenant_id, path, instance = gateway_channel
    body = json.dumps({"event": "connection.update", "instance": instance, "data": {"state": "open"}}).encode()
    assert post(app, path, body, {}).status_code == 200
    with in_tenant(tenant_id):
        db.session.scalar(select(Channel)).instance_name = "gw-renamed-0123456789abcdef"
    assert post(app, path, body, {}).status_code == 403
    renamed = body.replace(instance.encode(), b"gw-renamed-0123456789abcdef")
    assert post(app, path, renamed, {}).status_code == 200


@pytest.mark.parametrize("secret", ["", None])
def test_no_secret_never_matches(app, cloud_tenant, cloud_path, in_tenant, secret):
    with in_tenant(cloud_tenant.tenant_id):
        db.session.scalar(select(Channel)).app_secret = secret
    body = delivery("unsigned")
    assert post(app, cloud_path, body, signed(body)).status_code == 403
