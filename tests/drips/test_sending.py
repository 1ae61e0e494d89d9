"""Drip sending with a frozen clock: steps at their times, send windows across a DST change, exits, at most once."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Contact, DripEnrolment, DripStepSend
from models.drip import DelayFrom, DelayUnit, DripStep
from models.tenancy import tenant_scope
from services.drips.timing import step_due_at
from tests.drips.helpers import (
    T0,
    a_contact,
    drip_bodies,
    enrol_at,
    enrolment,
    make_sequence,
    sends,
    set_zone,
    step_ids,
    sweep,
)

THREE_STEPS = [(0, "minutes", "previous", "Welcome, {{first_name|friend}}!"),
               (2, "hours", "previous", "Two hours later"),
               (1, "days", "enrolment", "A day after you joined")]


def test_steps_fire_at_their_times(app, sandbox_owner, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, THREE_STEPS)
    contact_id = a_contact(in_tenant, tenant_id)
    enrolment_id = enrol_at(in_tenant, tenant_id, contact_id, sequence_id, T0)
    assert enrolment(in_tenant, tenant_id).next_step_at == T0

    assert sweep(T0 - timedelta(seconds=1)) == {}
    assert sweep(T0)["queued"] == 1
    assert drip_bodies(in_tenant, tenant_id) == ["Welcome, Ana!"]
    assert enrolment(in_tenant, tenant_id).next_step_at == T0 + timedelta(hours=2)

    sweep(T0 + timedelta(hours=2) - timedelta(seconds=1))
    assert len(drip_bodies(in_tenant, tenant_id)) == 1
    sweep(T0 + timedelta(hours=2))
    assert drip_bodies(in_tenant, tenant_id)[-1] == "Two hours later"
    # Counted from enrolment, not from the previous step.
    assert enrolment(in_tenant, tenant_id).next_step_at == T0 + timedelta(days=1)

    sweep(T0 + timedelta(hours=23))
    assert len(drip_bodies(in_tenant, tenant_id)) == 2
    sweep(T0 + timedelta(days=1))
    assert drip_bodies(in_tenant, tenant_id) == ["Welcome, Ana!", "Two hours later", "A day after you joined"]
    done = enrolment(in_tenant, tenant_id, enrolment_id)
    assert (done.state, done.next_step_at, done.current_step_id) == ("completed", None, None)
    assert sweep(T0 + timedelta(days=30)) == {}
    assert len(sends(in_tenant, tenant_id)) == 3


def test_a_step_due_outside_the_window_waits_for_the_next_opening_across_a_dst_change(app, sandbox_owner,
                                                                                         in_tenant):
    tenant_id = sandbox_owner.tenant_id
    set_zone(app, tenant_id, "America/New_York")
    from datetime import time

    sequence_id = make_sequence(in_tenant, tenant_id, [(0, "minutes", "previous", "First"),
                                                       (1, "hours", "previous", "Second")],
                                window_days=[0, 1, 2, 3, 4], window_start=time(9, 0), window_end=time(17, 0))
    # Friday 7 March 2031, 16:30 in New York (EST, UTC-5): inside the window.
    friday = datetime(2031, 3, 7, 21, 30, tzinfo=UTC)
    enrol_at(in_tenant, tenant_id, a_contact(in_tenant, tenant_id), sequence_id, friday)
    sweep(friday)
    assert drip_bodies(in_tenant, tenant_id) == ["First"]
    # The second step falls due at 17:30, after the window: it waits for Monday 09:00, which is summer time
    # (clocks went forward on Sunday 9 March), so 13:00 UTC rather than 14:00.
    monday = datetime(2031, 3, 10, 13, 0, tzinfo=UTC)
    assert enrolment(in_tenant, tenant_id).next_step_at == monday
    sweep(monday - timedelta(minutes=1))
    assert drip_bodies(in_tenant, tenant_id) == ["First"]
    sweep(monday)
    assert drip_bodies(in_tenant, tenant_id) == ["First", "Second"]


def test_a_day_keeps_the_wall_clock_time_across_a_dst_change():
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/New_York")
    step = DripStep(delay_value=1, delay_unit=DelayUnit.DAYS, delay_from=DelayFrom.PREVIOUS)
    saturday_10 = datetime(2031, 3, 8, 15, 0, tzinfo=UTC)  # 10:00 EST
    assert step_due_at(step, saturday_10, saturday_10, zone) == datetime(2031, 3, 9, 14, 0, tzinfo=UTC)  # 10:00 EDT
    hours = DripStep(delay_value=24, delay_unit=DelayUnit.HOURS, delay_from=DelayFrom.PREVIOUS)
    assert step_due_at(hours, saturday_10, saturday_10, zone) == datetime(2031, 3, 9, 15, 0, tzinfo=UTC)


def inbound(app, tenant_id: int, contact_id: int, text: str, at: datetime, provider_id: str) -> None:
    from services.channels import get_channel
    from services.inbound import apply_events
    from whatsapp.base import InboundMessage

    with in_scope(app, tenant_id):
        phone = db.session.scalar(select(Contact.phone).where(Contact.id == contact_id))
        apply_events(get_channel(), [InboundMessage(provider_message_id=provider_id, wa_id=phone.lstrip("+"),
                                                    timestamp=at, type="text", text=text)], received_at=at)
        db.session.commit()


def in_scope(app, tenant_id: int):
    from contextlib import ExitStack

    from models.tenancy import tenant_scope

    stack = ExitStack()
    stack.enter_context(app.app_context())
    stack.enter_context(tenant_scope(tenant_id))
    return stack


def test_a_reply_stops_the_sequence_unless_it_keeps_going_on_replies(app, sandbox_owner, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    stopping = make_sequence(in_tenant, tenant_id, THREE_STEPS)
    going_on = make_sequence(in_tenant, tenant_id, THREE_STEPS, name="Keeps going", exit_on_reply=False)
    contact_id = a_contact(in_tenant, tenant_id)
    first = enrol_at(in_tenant, tenant_id, contact_id, stopping, T0)
    second = enrol_at(in_tenant, tenant_id, contact_id, going_on, T0)
    sweep(T0)
    inbound(app, tenant_id, contact_id, "Thanks, who is this?", T0 + timedelta(minutes=5), "wamid.reply-1")
    stopped = enrolment(in_tenant, tenant_id, first)
    assert (stopped.state, stopped.reason, stopped.next_step_at) == ("stopped", "replied", None)
    assert enrolment(in_tenant, tenant_id, second).state == "active"
    # The reply counts for the step it answered, in both sequences.
    assert [s.replied_at is not None for s in sends(in_tenant, tenant_id)] == [True, True]
    sweep(T0 + timedelta(days=2))
    assert drip_bodies(in_tenant, tenant_id).count("Two hours later") == 1


def test_opting_out_stops_every_sequence(app, sandbox_owner, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, THREE_STEPS, exit_on_reply=False)
    contact_id = a_contact(in_tenant, tenant_id)
    enrolment_id = enrol_at(in_tenant, tenant_id, contact_id, sequence_id, T0)
    sweep(T0)
    inbound(app, tenant_id, contact_id, "STOP", T0 + timedelta(minutes=1), "wamid.stop-1")
    row = enrolment(in_tenant, tenant_id, enrolment_id)
    assert (row.state, row.reason) == ("stopped", "opted out")
    sweep(T0 + timedelta(days=2))
    assert drip_bodies(in_tenant, tenant_id) == ["Welcome, Ana!"]


def test_a_contact_opted_out_some_other_way_is_stopped_by_the_sweep_not_messaged(app, sandbox_owner, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, THREE_STEPS)
    contact_id = a_contact(in_tenant, tenant_id)
    enrolment_id = enrol_at(in_tenant, tenant_id, contact_id, sequence_id, T0)
    with in_tenant(tenant_id):
        db.session.execute(update(Contact).where(Contact.id == contact_id).values(opted_out=True))
    assert sweep(T0)["stopped"] == 1
    row = enrolment(in_tenant, tenant_id, enrolment_id)
    assert (row.state, row.reason) == ("stopped", "opted out")
    assert drip_bodies(in_tenant, tenant_id) == []


def test_a_text_step_outside_the_cloud_window_is_recorded_with_the_reason_and_the_next_step_follows(
        app, connected_cloud, in_tenant, graph):
    tenant_id = connected_cloud.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, THREE_STEPS)
    enrolment_id = enrol_at(in_tenant, tenant_id, a_contact(in_tenant, tenant_id), sequence_id, T0)
    counts = sweep(T0)
    assert (counts["queued"], counts["not_sent"]) == (0, 1)
    [record] = sends(in_tenant, tenant_id)
    assert record.message_id is None and "24-hour customer-service window is closed" in record.reason
    row = enrolment(in_tenant, tenant_id, enrolment_id)
    assert row.reason.startswith("Step 1 not sent: The 24-hour customer-service window is closed")
    assert (row.state, row.next_step_at) == ("active", T0 + timedelta(hours=2))
    assert drip_bodies(in_tenant, tenant_id) == []


def test_a_killed_worker_sends_no_step_twice(app, sandbox_owner, in_tenant, monkeypatch, run_jobs):
    from services.drips import sending

    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, THREE_STEPS)
    enrolment_id = enrol_at(in_tenant, tenant_id, a_contact(in_tenant, tenant_id), sequence_id, T0)
    real = sending.insert_queued

    def killed(*args, **kwargs):
        real(*args, **kwargs)
        raise SystemExit("worker killed after queueing, before committing")

    monkeypatch.setattr(sending, "insert_queued", killed)
    with pytest.raises(SystemExit):
        sweep(T0)
    assert drip_bodies(in_tenant, tenant_id) == [] and sends(in_tenant, tenant_id) == []
    assert enrolment(in_tenant, tenant_id, enrolment_id).next_step_at == T0
    monkeypatch.setattr(sending, "insert_queued", real)
    sweep(T0)
    sweep(T0 + timedelta(minutes=1))
    run_jobs()
    assert drip_bodies(in_tenant, tenant_id) == ["Welcome, Ana!"]
    # Pointing the enrolment back at a step it had does not send it again: it moves on to the next one.
    first_step = step_ids(in_tenant, tenant_id, sequence_id)[0]
    with in_tenant(tenant_id):
        db.session.execute(update(DripEnrolment).values(current_step_id=first_step, next_step_at=T0))
    sweep(T0 + timedelta(minutes=2))
    assert drip_bodies(in_tenant, tenant_id) == ["Welcome, Ana!"]
    with app.app_context(), tenant_scope(tenant_id):
        with pytest.raises(IntegrityError):
            db.session.add(DripStepSend(enrolment_id=enrolment_id, step_id=first_step))
            db.session.flush()
        db.session.rollback()


def test_redis_flushed_the_sweep_still_sends(app, sandbox_owner, in_tenant, run_jobs):
    from extensions import get_redis
    from models.base import utcnow

    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, THREE_STEPS)
    now = utcnow()
    enrol_at(in_tenant, tenant_id, a_contact(in_tenant, tenant_id), sequence_id, now)
    with app.app_context():
        get_redis().flushdb()  # the timed job for the first step is gone
    assert run_jobs() == 0
    assert sweep(now)["queued"] == 1
    run_jobs()
    with in_tenant(tenant_id):
        from models import Message

        assert db.session.scalar(select(Message.status).where(Message.origin == "drip")) in ("sent", "delivered",
                                                                                             "read")


def test_each_workspace_gets_its_batch_in_the_same_sweep(app, create_user, in_tenant, monkeypatch):
    from services.channels import ensure_channel
    from services.drips import sending

    busy, quiet = create_user(tenant_name="Busy").tenant_id, create_user(tenant_name="Quiet").tenant_id
    for tenant_id in (busy, quiet):
        with in_tenant(tenant_id):

            channel = ensure_channel("sandbox")
            channel.state = "connected"
    busy_sequence = make_sequence(in_tenant, busy, THREE_STEPS)
    quiet_sequence = make_sequence(in_tenant, quiet, THREE_STEPS)
    for n in range(5):
        enrol_at(in_tenant, busy, a_contact(in_tenant, busy, phone=f"+1415666{n:04d}"), busy_sequence, T0)
    enrol_at(in_tenant, quiet, a_contact(in_tenant, quiet), quiet_sequence, T0)
    monkeypatch.setattr(sending, "BATCH", 2)
    import jobs.drips

    monkeypatch.setattr(jobs.drips, "MAX_ROUNDS", 1)
    assert sweep(T0)["queued"] == 3  # one round: two of the busy workspace's five, and the quiet one's one
    assert len(drip_bodies(in_tenant, quiet)) == 1 and len(drip_bodies(in_tenant, busy)) == 2
    monkeypatch.setattr(jobs.drips, "MAX_ROUNDS", 5)
    assert sweep(T0)["queued"] == 3
    assert len(drip_bodies(in_tenant, busy)) == 5


def test_the_sweep_is_on_the_cron_schedule():
    from rq import cron

    import jobs.cron  # noqa: F401  (registers the schedule)

    assert any(entry["func"].__name__ == "send_due_steps" and entry["interval"] == 60
               for entry in cron._job_data_registry)


def test_a_template_step_goes_out_on_cloud_outside_the_window_with_its_mapped_variables(
        app, client, graph, connected_cloud, in_tenant, run_jobs):
    from models import MessageTemplate
    from services.drips.sequences import SequenceInput, save_sequence, save_step
    from tests.channels.conftest import WABA_ID

    tenant_id = connected_cloud.tenant_id
    graph.add_template(WABA_ID, "order_ready", "en_US",
                       components=[{"type": "BODY", "text": "Hi {{1}}, your order {{2}} is ready."}])
    assert client.post("/inbox/templates/sync", data={}).status_code == 303
    contact_id = a_contact(in_tenant, tenant_id, custom_fields={"order": "A-17"})
    with in_tenant(tenant_id):
        template_id = db.session.scalar(select(MessageTemplate.id).where(MessageTemplate.name == "order_ready"))
        sequence = save_sequence(SequenceInput(name="Orders"))
        save_step(sequence, {"delay_value": 0, "delay_unit": "minutes", "delay_from": "previous",
                             "content": "template", "template_id": template_id,
                             "variables": [{"source": "first_name", "value": ""},
                                           {"source": "field:order", "value": "your order"}]})
        sequence_id = sequence.id
    enrol_at(in_tenant, tenant_id, contact_id, sequence_id, T0)
    assert sweep(T0)["queued"] == 1  # no inbound message: the window is closed, a template may still go
    run_jobs()
    assert drip_bodies(in_tenant, tenant_id) == ["Hi Ana, your order A-17 is ready."]
    assert graph.sent[0]["template"]["name"] == "order_ready"


def test_the_last_step_records_that_the_contact_completed_the_sequence(app, sandbox_owner, in_tenant, someone_listens):
    from models import DomainEvent

    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, THREE_STEPS[:2])
    contact_id = a_contact(in_tenant, tenant_id)
    enrolment_id = enrol_at(in_tenant, tenant_id, contact_id, sequence_id, T0)

    def completions():
        with in_tenant(tenant_id):
            return [(e.contact_id, e.subject_id, e.data) for e in db.session.scalars(
                select(DomainEvent).where(DomainEvent.kind == "drip.completed"))]

    sweep(T0)
    assert completions() == []
    sweep(T0 + timedelta(hours=2))
    assert completions() == [(contact_id, sequence_id, {"enrolment_id": enrolment_id})]
    sweep(T0 + timedelta(days=30))
    assert len(completions()) == 1
