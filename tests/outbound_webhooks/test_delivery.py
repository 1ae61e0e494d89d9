"""Deliveries reach a real receiver signed, are retried with backoff, give up after 24 hours, and replay."""
from __future__ import annotations

import json
from datetime import timedelta

from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from extensions import db
from jobs.outbound_webhooks import deliver
from models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from services.outbound_webhooks import create_subscription, replay, send_to_url, sending, set_enabled
from services.outbound_webhooks.deliveries import QUEUE
from services.queueing import queue
from tests.factories import make_contact
from tests.outbound_webhooks.helpers import dispatch, emit_event, receiver_verifies


def _subscribe(in_tenant, tenant_id, url, events=("message.received",)):
    with in_tenant(tenant_id):
        subscription, secret = create_subscription(url, list(events))
        return subscription.id, secret


def _delivery(in_tenant, tenant_id, **where):
    with in_tenant(tenant_id):
        rows = list(db.session.scalars(select(WebhookDelivery).filter_by(**where).order_by(WebhookDelivery.id)))
        assert len(rows) == 1, rows
        db.session.expunge(rows[0])
        return rows[0]


def _attempts(in_tenant, tenant_id, delivery_id):
    with in_tenant(tenant_id):
        return [(a.number, a.response_code, a.error) for a in db.session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.id))]


def _attempt_at(tenant_id, delivery_id, now):
    """One attempt as the job makes it, at a chosen time (the retry schedule spans a day)."""
    from models.tenancy import tenant_scope

    with tenant_scope(tenant_id):
        claim = sending.claim(delivery_id, now)
        db.session.commit()
        if claim is None:
            return None
        outcome = sending.settle(claim, sending.post(claim), now)
        db.session.commit()
        return outcome


def test_a_receiver_verifies_the_signature_of_an_event(app, create_user, in_tenant, receiver, run_jobs):
    owner = create_user()
    subscription_id, secret = _subscribe(in_tenant, owner.tenant_id, receiver.url)
    with in_tenant(owner.tenant_id):
        contact_id = make_contact(name="Ana", phone="+14155550111").id
        event_id = emit_event("message.received", contact_id=contact_id, data={"text": "hi", "type": "text"}).id
    assert run_jobs() == 2  # the workspace's event dispatch, then the delivery
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    assert receiver_verifies(secret, headers, body)
    assert not receiver_verifies(secret, headers, body.replace(b"hi", b"ho"))  # a changed body fails
    assert not receiver_verifies("whsec_other", headers, body)
    sent = json.loads(body)
    assert sent["event"] == "message.received" and sent["id"] == event_id
    assert sent["workspace_id"] == owner.tenant_id
    assert sent["contact"] == {"id": contact_id, "name": "Ana", "phone": "+14155550111"}
    assert sent["data"] == {"text": "hi", "type": "text"}
    assert headers["X-MessageHub-Event"] == "message.received"
    delivery = _delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id)
    assert headers["X-MessageHub-Delivery"] == str(delivery.id)
    assert delivery.state == "delivered" and delivery.last_response_code == 200 and delivery.delivered_at
    assert delivery.next_attempt_at is None
    assert _attempts(in_tenant, owner.tenant_id, delivery.id) == [(1, 200, None)]
    with in_tenant(owner.tenant_id):
        assert db.session.get(WebhookSubscription, subscription_id).last_status == "HTTP 200"


def test_a_stale_timestamp_is_what_receivers_refuse(app, create_user, in_tenant, receiver, run_jobs):
    owner = create_user()
    _subscription_id, secret = _subscribe(in_tenant, owner.tenant_id, receiver.url)
    with in_tenant(owner.tenant_id):
        emit_event()
    run_jobs()
    [request] = receiver.requests
    stamp = int(request["headers"]["X-MessageHub-Timestamp"])
    assert receiver_verifies(secret, request["headers"], request["body"], now=stamp + 10)
    assert not receiver_verifies(secret, request["headers"], request["body"], now=stamp + 3600)


def test_failures_are_retried_with_backoff_until_one_succeeds(app, create_user, in_tenant, receiver, run_jobs):
    owner = create_user()
    subscription_id, secret = _subscribe(in_tenant, owner.tenant_id, receiver.url)
    receiver.statuses = [500, 503]
    with in_tenant(owner.tenant_id):
        emit_event()
    run_jobs()
    first = _delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id)
    assert first.state == "failed" and first.last_error == "HTTP 500" and first.last_response_code == 500
    wait = first.next_attempt_at - first.created_at
    assert timedelta(seconds=29) <= wait <= timedelta(seconds=40)
    # The retry is an RQ job scheduled for that time (no worker sleeps), and the time is durable on the row.
    with app.app_context():
        registry = ScheduledJobRegistry(queue=queue(QUEUE))
        [job_id] = registry.get_job_ids()
        at = registry.get_scheduled_time(job_id)
        assert abs((at.replace(tzinfo=first.next_attempt_at.tzinfo) - first.next_attempt_at).total_seconds()) < 1.5
        # Not due yet: the job does nothing early.
        assert deliver(owner.tenant_id, first.id) == "not due"
    assert len(receiver.requests) == 1
    with app.app_context():
        assert _attempt_at(owner.tenant_id, first.id, first.next_attempt_at) == "failed"
    second = _delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id)
    assert second.last_error == "HTTP 503"
    assert second.next_attempt_at - first.next_attempt_at >= sending.MIN_DELAY  # backing off, never hurrying
    with app.app_context():
        assert _attempt_at(owner.tenant_id, first.id, second.next_attempt_at) == "delivered"
    assert [(n, code) for n, code, _ in _attempts(in_tenant, owner.tenant_id, first.id)] == [
        (1, 500), (2, 503), (3, 200)]
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1  # every retry sends the same event
    assert all(receiver_verifies(secret, r["headers"], r["body"], now=int(r["headers"]["X-MessageHub-Timestamp"]))
               for r in receiver.requests)


def test_after_24_hours_of_failures_it_gives_up_with_the_reason(app, create_user, in_tenant, receiver):
    owner = create_user()
    subscription_id, _secret = _subscribe(in_tenant, owner.tenant_id, receiver.url)
    receiver.statuses = [500] * 100
    with in_tenant(owner.tenant_id):
        emit_event()
    dispatch(owner.tenant_id)
    delivery = _delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id)
    now, times = delivery.next_attempt_at, []
    with app.app_context():
        while True:
            outcome = _attempt_at(owner.tenant_id, delivery.id, now)
            times.append(now)
            row = _delivery(in_tenant, owner.tenant_id, id=delivery.id)
            if outcome != "failed":
                break
            assert row.next_attempt_at > now
            now = row.next_attempt_at
    assert outcome == "gave_up"
    assert row.state == "gave_up" and row.next_attempt_at is None
    assert row.last_error == f"Gave up after {len(times)} attempts over 24 hours. Last: HTTP 500"
    assert times[-1] - times[0] == timedelta(hours=24)  # the last try lands on the window's end
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps == sorted(gaps[:-1]) + gaps[-1:]  # growing (the final gap is what was left of the day)
    assert gaps[0] >= timedelta(seconds=30) and max(gaps) <= timedelta(hours=6)
    assert 12 <= len(times) <= 30
    assert len(receiver.requests) == len(times)
    assert len(_attempts(in_tenant, owner.tenant_id, delivery.id)) == len(times)


def test_an_unreachable_receiver_is_logged_as_an_error(app, create_user, in_tenant, receiver, run_jobs):
    owner = create_user()
    url = receiver.url
    receiver.close()  # nothing listens there any more
    subscription_id, _ = _subscribe(in_tenant, owner.tenant_id, url)
    with in_tenant(owner.tenant_id):
        emit_event()
    run_jobs()
    delivery = _delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id)
    assert delivery.state == "failed" and delivery.last_response_code is None
    assert delivery.last_error.startswith("Could not connect")
    [(number, code, error)] = _attempts(in_tenant, owner.tenant_id, delivery.id)
    assert (number, code) == (1, None) and error.startswith("Could not connect")


def test_replay_sends_a_delivered_event_again(app, create_user, in_tenant, receiver, run_jobs):
    owner = create_user()
    subscription_id, secret = _subscribe(in_tenant, owner.tenant_id, receiver.url)
    with in_tenant(owner.tenant_id):
        emit_event()
    run_jobs()
    delivery = _delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id)
    with in_tenant(owner.tenant_id):
        replay(db.session.get(WebhookDelivery, delivery.id))
    assert run_jobs() == 1
    assert len(receiver.requests) == 2
    first, again = receiver.requests
    assert first["body"] == again["body"]
    assert first["headers"]["X-MessageHub-Delivery"] == again["headers"]["X-MessageHub-Delivery"]
    assert receiver_verifies(secret, again["headers"], again["body"])
    assert [n for n, _code, _err in _attempts(in_tenant, owner.tenant_id, delivery.id)] == [1, 2]


def test_replay_revives_a_delivery_that_gave_up(app, create_user, in_tenant, receiver, run_jobs):
    owner = create_user()
    subscription_id, _ = _subscribe(in_tenant, owner.tenant_id, receiver.url)
    with in_tenant(owner.tenant_id):
        emit_event()
    dispatch(owner.tenant_id)
    with in_tenant(owner.tenant_id):
        row = db.session.scalar(select(WebhookDelivery))
        row.state, row.next_attempt_at, row.last_error = "gave_up", None, "Gave up after 20 attempts"
    run_jobs()  # the queued delivery job finds nothing to do
    assert receiver.requests == []
    with in_tenant(owner.tenant_id):
        replay(db.session.scalar(select(WebhookDelivery)))
    run_jobs()
    delivery = _delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id)
    assert delivery.state == "delivered" and len(receiver.requests) == 1


def test_a_turned_off_webhook_gets_no_new_deliveries_and_sends_no_waiting_one(app, create_user, in_tenant, receiver,
                                                                              run_jobs):
    owner = create_user()
    subscription_id, _ = _subscribe(in_tenant, owner.tenant_id, receiver.url)
    with in_tenant(owner.tenant_id):
        emit_event()
    dispatch(owner.tenant_id)  # a delivery waits
    with in_tenant(owner.tenant_id):
        set_enabled(db.session.get(WebhookSubscription, subscription_id), False)
        emit_event()  # none is made for this one
    run_jobs()
    assert receiver.requests == []
    delivery = _delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id)
    assert delivery.state == "gave_up" and delivery.last_error == "Not sent: the webhook was turned off."


def test_send_to_url_delivers_an_ad_hoc_signed_post(app, create_user, in_tenant, receiver, run_jobs):
    owner = create_user()
    with in_tenant(owner.tenant_id):
        delivery_id = send_to_url(receiver.url, "whsec_step", "workflow.step", {"hello": "world"}).id
    run_jobs()
    [request] = receiver.requests
    assert json.loads(request["body"]) == {"hello": "world"}
    assert request["headers"]["X-MessageHub-Event"] == "workflow.step"
    assert receiver_verifies("whsec_step", request["headers"], request["body"])
    assert _delivery(in_tenant, owner.tenant_id, id=delivery_id).state == "delivered"


def test_the_sweep_recovers_an_attempt_whose_job_was_lost(app, create_user, in_tenant, receiver, run_jobs):
    from jobs.outbound_webhooks import sweep_deliveries

    owner = create_user()
    subscription_id, _ = _subscribe(in_tenant, owner.tenant_id, receiver.url)
    with in_tenant(owner.tenant_id):
        emit_event()
    dispatch(owner.tenant_id)
    app.extensions["messagehub.redis"].flushdb()  # Redis lost the delivery's job
    assert run_jobs() == 0
    with app.app_context():
        assert sweep_deliveries() == 0  # not overdue yet: its own job may still come
    with in_tenant(owner.tenant_id):
        row = db.session.scalar(select(WebhookDelivery))
        row.next_attempt_at -= sending.LOST_AFTER + timedelta(seconds=1)
    with app.app_context():
        assert sweep_deliveries() == 1
    run_jobs()
    assert _delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id).state == "delivered"
    assert len(receiver.requests) == 1


def test_an_attempt_cut_short_is_logged_and_recovered_after_its_lease(app, create_user, in_tenant, receiver,
                                                                     run_jobs):
    """A worker killed mid-request: its lease keeps the sweep off while it might still answer, then expires."""
    from jobs.outbound_webhooks import sweep_deliveries
    from models.tenancy import tenant_scope

    owner = create_user()
    subscription_id, _ = _subscribe(in_tenant, owner.tenant_id, receiver.url)
    with in_tenant(owner.tenant_id):
        emit_event()
    dispatch(owner.tenant_id)
    app.extensions["messagehub.redis"].flushdb()
    with app.app_context(), tenant_scope(owner.tenant_id):
        assert sending.claim(_delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id).id)
        db.session.commit()  # ... and the worker dies before posting
    delivery = _delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id)
    assert _attempts(in_tenant, owner.tenant_id, delivery.id) == [(1, None, sending.INTERRUPTED)]
    with app.app_context():
        assert deliver(owner.tenant_id, delivery.id) == "not due"  # leased: a second job does not send it too
        assert sweep_deliveries() == 0
    with in_tenant(owner.tenant_id):
        row = db.session.get(WebhookDelivery, delivery.id)
        row.next_attempt_at -= sending.LEASE + sending.LOST_AFTER
    with app.app_context():
        assert sweep_deliveries() == 1
    run_jobs()
    assert _delivery(in_tenant, owner.tenant_id, id=delivery.id).state == "delivered"
    assert _attempts(in_tenant, owner.tenant_id, delivery.id) == [(1, None, sending.INTERRUPTED), (2, 200, None)]
    assert len(receiver.requests) == 1


def test_a_secret_the_keys_cannot_read_gives_up_with_the_reason(app, create_user, in_tenant, receiver, run_jobs,
                                                               owner_engine, login, client):
    owner = create_user()
    login(owner)
    subscription_id, _ = _subscribe(in_tenant, owner.tenant_id, receiver.url)
    with owner_engine.begin() as conn:  # encrypted under a key this install no longer has
        conn.exec_driver_sql("UPDATE webhook_subscriptions SET secret = 'gAAAAAB-not-ours'")
    with in_tenant(owner.tenant_id):
        emit_event()
    run_jobs()
    assert receiver.requests == []
    delivery = _delivery(in_tenant, owner.tenant_id, subscription_id=subscription_id)
    assert delivery.state == "gave_up" and "signing secret cannot be read" in delivery.last_error
    # The pages still open, so the fix is at hand: rotate, then replay.
    assert client.get(f"/settings/webhooks/{subscription_id}").status_code == 200
    assert client.post(f"/settings/webhooks/{subscription_id}/rotate").status_code == 200
    assert client.post(f"/settings/webhooks/deliveries/{delivery.id}/replay").status_code == 303
    run_jobs()
    assert len(receiver.requests) == 1
    assert _delivery(in_tenant, owner.tenant_id, id=delivery.id).state == "delivered"
