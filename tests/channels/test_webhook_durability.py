"""Accepted deliveries are never lost: transient failures retry, bad items are skipped, failures stay visible."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import psycopg.errors
import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from extensions import db
from jobs.webhooks import process_webhook_event, requeue_stale_events
from models import Contact, WebhookEvent
from models.base import utcnow
from models.tenancy import tenant_scope
from tests.channels.conftest import APP_SECRET, PHONE_ID
from tests.channels.helpers import channel_of, contacts_of, events_of, messages_of
from tests.fakes.cloud_webhooks import build_webhook, message_payload, status_payload
from whatsapp.signature import sign_payload


@pytest.fixture
def hook(app, cloud_tenant):
    """POSTs a signed body to the cloud tenant's webhook URL."""
    channel = channel_of(app, cloud_tenant.tenant_id)
    client = app.test_client()

    def post(payload):
        body = json.dumps(payload).encode()
        response = client.post(f"/webhooks/cloud/{channel.webhook_token}", data=body,
                               headers={"Content-Type": "application/json",
                                        "X-Hub-Signature-256": sign_payload(APP_SECRET, body)})
        assert response.status_code == 200
        return response

    post.tenant_id = cloud_tenant.tenant_id
    return post


def deadlock() -> OperationalError:
    """What SQLAlchemy raises when PostgreSQL breaks a deadlock by aborting this transaction."""
    return OperationalError("INSERT INTO contacts ...", {}, psycopg.errors.DeadlockDetected("deadlock detected"))


def text(body: str, wa_id: str = "15551234567", **extra):
    return message_payload("text", {"body": body}, wa_id=wa_id, **extra)


def scheduled_jobs(app) -> list[str]:
    from rq.registry import ScheduledJobRegistry

    from services.queueing import INBOUND_QUEUE, queue

    with app.app_context():
        return ScheduledJobRegistry(queue=queue(INBOUND_QUEUE)).get_job_ids()


def test_a_transient_failure_is_retried_until_the_delivery_is_stored(app, hook, run_jobs, monkeypatch):
    import services.inbound

    real = services.inbound.apply_events
    failures = {"left": 2}

    def flaky(*args, **kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise deadlock()
        return real(*args, **kwargs)

    monkeypatch.setattr("jobs.webhooks.apply_events", flaky)
    hook(build_webhook(PHONE_ID, messages=[text("first try fails")]))
    run_jobs()
    [event] = events_of(app, hook.tenant_id)
    assert event.processed_at is None and event.failed_at is None
    assert event.attempts == 1 and "DeadlockDetected" in event.error
    assert event.next_attempt_at > utcnow()
    assert len(scheduled_jobs(app)) == 1  # the retry waits in RQ's scheduler with its backoff
    assert messages_of(app, hook.tenant_id) == []

    assert process_webhook_event(hook.tenant_id, event.id) == "retrying"
    assert events_of(app, hook.tenant_id)[0].attempts == 2
    process_webhook_event(hook.tenant_id, event.id)
    [event] = events_of(app, hook.tenant_id)
    assert event.processed_at is not None and event.error is None and event.failed_at is None
    assert [m.body for m in messages_of(app, hook.tenant_id)] == ["first try fails"]


def test_a_retry_lost_with_redis_is_picked_up_by_the_sweep(app, hook, run_jobs, monkeypatch):
    monkeypatch.setattr("jobs.webhooks.apply_events", lambda *a, **k: (_ for _ in ()).throw(deadlock()))
    hook(build_webhook(PHONE_ID, messages=[text("swept")]))
    run_jobs()
    monkeypatch.undo()
    with app.app_context():
        app.extensions["messagehub.redis"].flushdb()  # the scheduled retry is gone
        with tenant_scope(hook.tenant_id):
            long_ago = utcnow() - timedelta(minutes=10)
            db.session.execute(update(WebhookEvent).values(received_at=long_ago, next_attempt_at=long_ago))
            db.session.commit()
    assert requeue_stale_events() == 1
    run_jobs()
    assert [m.body for m in messages_of(app, hook.tenant_id)] == ["swept"]


def test_a_lasting_failure_stays_visible_and_can_be_run_again(app, client, hook, run_jobs, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("entry")

    monkeypatch.setattr("jobs.webhooks.apply_events", broken)
    hook(build_webhook(PHONE_ID, messages=[text("kept for later")]))
    run_jobs()
    [event] = events_of(app, hook.tenant_id)
    assert event.failed_at is not None and "KeyError" in event.error and event.processed_at is None
    assert scheduled_jobs(app) == []
    assert requeue_stale_events() == 0  # failed for good: not swept in a loop

    page = client.get("/settings/whatsapp").get_data(as_text=True)
    assert "<strong>1</strong> could not be processed" in page
    listing = client.get("/settings/whatsapp/events").get_data(as_text=True)
    assert "KeyError" in listing and f"/settings/whatsapp/events/{event.id}/rerun" in listing

    monkeypatch.undo()  # the cause is fixed
    assert client.post(f"/settings/whatsapp/events/{event.id}/rerun").status_code == 303
    run_jobs()
    [event] = events_of(app, hook.tenant_id)
    assert event.processed_at is not None and event.failed_at is None
    assert [m.body for m in messages_of(app, hook.tenant_id)] == ["kept for later"]
    assert "could not be processed" not in client.get("/settings/whatsapp").get_data(as_text=True)


def test_one_bad_item_is_recorded_and_skipped_the_rest_are_stored(app, hook, run_jobs, monkeypatch):
    import services.inbound

    real = services.inbound.handle_inbound_text

    def picky(contact, body):
        if body == "poison":
            raise ValueError("cannot handle this one")
        return real(contact, body)

    monkeypatch.setattr("services.inbound.handle_inbound_text", picky)
    hook(build_webhook(PHONE_ID, messages=[text("before"), text("poison"), text("after")]))
    run_jobs()
    [event] = events_of(app, hook.tenant_id)
    assert event.processed_at is not None and event.failed_at is None
    assert [(e["item"], e["kind"]) for e in event.item_errors] == [(1, "InboundMessage")]
    assert "cannot handle this one" in event.item_errors[0]["error"]
    assert [m.body for m in messages_of(app, hook.tenant_id)] == ["before", "after"]


def test_oversized_and_odd_fields_never_fail_a_delivery(app, hook, run_jobs):
    long_id = "wamid." + "X" * 300
    odd = message_payload("text", {"body": {"not": "a string"}}, wa_id="15557654321")
    reply = text("a reply", context_id="wamid." + "C" * 300)
    hook(build_webhook(PHONE_ID, messages=[text("long id", message_id=long_id), odd, reply],
                       profile_names={"15551234567": "N" * 500}))
    hook(build_webhook(PHONE_ID, messages=[text("long id", message_id=long_id)]))  # duplicate, same long id
    hook(build_webhook(PHONE_ID, statuses=[status_payload("wamid." + "S" * 300, "failed", error_code=131026,
                                                          error_title="E" * 5000)]))
    run_jobs()
    events = events_of(app, hook.tenant_id)
    assert all(e.processed_at is not None and not e.item_errors for e in events), [e.error for e in events]
    messages = messages_of(app, hook.tenant_id)
    assert [m.body for m in messages] == ["long id", '{"not": "a string"}', "a reply"]
    assert all(len(m.provider_message_id) <= 128 for m in messages)
    assert messages[2].context_message_id and len(messages[2].context_message_id) <= 128
    contact = next(c for c in contacts_of(app, hook.tenant_id) if c.phone == "+15551234567")
    assert contact.profile_name == "N" * 200


def test_a_future_timestamp_cannot_hold_the_window_open(app, hook, run_jobs):
    in_ten_days = int(time.time()) + 10 * 86400
    hook(build_webhook(PHONE_ID, messages=[text("from the future", timestamp=in_ten_days)]))
    run_jobs()
    [contact] = contacts_of(app, hook.tenant_id)
    [message] = messages_of(app, hook.tenant_id)
    assert contact.last_inbound_at <= utcnow()
    assert message.received_at <= utcnow()
    assert contact.last_message_at <= utcnow()


def test_contacts_of_a_delivery_are_created_once_in_a_stable_order(app, hook, run_jobs):
    senders = ["15550000003", "15550000001", "15550000002"]
    hook(build_webhook(PHONE_ID, messages=[text(f"hi {w}", wa_id=w) for w in senders + senders[::-1]]))
    run_jobs()
    with app.app_context(), tenant_scope(hook.tenant_id):
        phones = db.session.scalars(select(Contact.phone).order_by(Contact.id)).all()
    # Created in one INSERT in phone order, whatever order the delivery named them in.
    assert phones == sorted(f"+{w}" for w in senders)
    assert len(messages_of(app, hook.tenant_id)) == 6


def test_operators_see_failures_across_tenants_and_can_run_them_again(app, hook, run_jobs, monkeypatch):
    monkeypatch.setattr("jobs.webhooks.apply_events", lambda *a, **k: (_ for _ in ()).throw(KeyError("entry")))
    hook(build_webhook(PHONE_ID, messages=[text("stuck")]))
    run_jobs()
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["webhook-events"])
    assert listing.exit_code == 0 and f"tenant {hook.tenant_id}: 1 failed, 0 retrying" in listing.output
    monkeypatch.undo()
    rerun = runner.invoke(args=["webhook-events", "--rerun"])
    assert "Queued 1 failed deliveries" in rerun.output
    run_jobs()
    assert [m.body for m in messages_of(app, hook.tenant_id)] == ["stuck"]
    assert "Every stored webhook delivery was processed." in runner.invoke(args=["webhook-events"]).output


def test_running_failed_deliveries_again_touches_only_ones_own(app, client, hook, create_user, login, in_tenant,
                                                             run_jobs, monkeypatch):
    monkeypatch.setattr("jobs.webhooks.apply_events", lambda *a, **k: (_ for _ in ()).throw(KeyError("entry")))
    hook(build_webhook(PHONE_ID, messages=[text("mine")]))
    run_jobs()
    intruder = login(create_user(), test_client=app.test_client())
    assert intruder.post("/settings/whatsapp/events/rerun").status_code == 303
    [event] = events_of(app, hook.tenant_id)
    assert event.failed_at is not None  # still failed: the other workspace's "run all" did not reach it
    assert intruder.post(f"/settings/whatsapp/events/{event.id}/rerun").status_code == 404
