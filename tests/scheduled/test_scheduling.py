"""Scheduled messages: time zones, the rules when due, queued at most once, edit and cancel while scheduled."""
from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from extensions import db, get_redis
from models import Contact, Message, ScheduledMessage, Tenant
from models.base import utcnow
from models.scheduled_message import ScheduledStatus
from services.errors import Invalid
from services.scheduling import WINDOW_CLOSED, cancel_scheduled, schedule_message, update_scheduled
from tests.channels.conftest import WABA_ID
from tests.factories import make_contact
from tests.inbox.conftest import add_message


def set_zone(app, tenant_id: int, zone: str) -> None:
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(time_zone=zone))
        db.session.commit()


def a_contact(in_tenant, tenant_id: int, **fields) -> int:
    with in_tenant(tenant_id):
        return make_contact(name="Ana Souza", **fields).id


def local_in(minutes: int, zone: str = "UTC") -> datetime:
    """A wall-clock time `minutes` from now in `zone`, as a form would send it."""
    from zoneinfo import ZoneInfo

    return (utcnow() + timedelta(minutes=minutes)).astimezone(ZoneInfo(zone)).replace(tzinfo=None, second=0,
                                                                                      microsecond=0)


def schedule(in_tenant, tenant_id: int, contact_id: int, minutes: int = 60, **content) -> int:
    with in_tenant(tenant_id):
        contact = db.session.scalar(select(Contact).where(Contact.id == contact_id))
        return schedule_message(contact, local_in(minutes), **({"body": "See you at 9"} | content)).id


def make_due(in_tenant, tenant_id: int, scheduled_id: int) -> None:
    """Time passes: the message's due time is a second ago."""
    with in_tenant(tenant_id):
        db.session.execute(update(ScheduledMessage).where(ScheduledMessage.id == scheduled_id)
                           .values(due_at=utcnow() - timedelta(seconds=1)))


def row(in_tenant, tenant_id: int, scheduled_id: int) -> ScheduledMessage:
    with in_tenant(tenant_id):
        item = db.session.scalar(select(ScheduledMessage).where(ScheduledMessage.id == scheduled_id))
        db.session.expunge(item)
        return item


def outbound(in_tenant, tenant_id: int) -> list[Message]:
    with in_tenant(tenant_id):
        messages = list(db.session.scalars(select(Message).where(Message.direction == "out")))
        for m in messages:
            db.session.expunge(m)
        return messages


def sweep():
    from jobs.scheduling import queue_due_messages

    return queue_due_messages()


# --- scheduling ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("zone, local, expected", [
    ("America/Sao_Paulo", datetime(2031, 1, 15, 9, 0), datetime(2031, 1, 15, 12, 0, tzinfo=UTC)),
    ("America/New_York", datetime(2031, 7, 15, 9, 0), datetime(2031, 7, 15, 13, 0, tzinfo=UTC)),  # summer time
    ("America/New_York", datetime(2031, 1, 15, 9, 0), datetime(2031, 1, 15, 14, 0, tzinfo=UTC)),
    ("Asia/Kolkata", datetime(2031, 1, 15, 9, 0), datetime(2031, 1, 15, 3, 30, tzinfo=UTC)),
])
def test_a_time_is_read_in_the_workspace_zone_and_stored_in_utc(app, owner, in_tenant, zone, local, expected):
    set_zone(app, owner.tenant_id, zone)
    contact_id = a_contact(in_tenant, owner.tenant_id)
    with in_tenant(owner.tenant_id):
        contact = db.session.scalar(select(Contact).where(Contact.id == contact_id))
        item_id = schedule_message(contact, local, body="Bom dia").id
    assert row(in_tenant, owner.tenant_id, item_id).due_at == expected


def test_the_form_shows_the_zone_and_stores_the_time_in_utc(app, client, sandbox_owner, in_tenant):
    set_zone(app, sandbox_owner.tenant_id, "America/Sao_Paulo")
    contact_id = a_contact(in_tenant, sandbox_owner.tenant_id)
    page = client.get(f"/scheduled/new/{contact_id}?back=contact").get_data(as_text=True)
    assert "America/Sao_Paulo" in page
    response = client.post(f"/scheduled/new/{contact_id}",
                           data={"due_at": "2031-01-15T09:00", "body": "Bom dia!", "back": "contact"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/contacts/{contact_id}")
    with in_tenant(sandbox_owner.tenant_id):
        item = db.session.scalar(select(ScheduledMessage))
        assert (item.due_at, item.body, item.status) == (datetime(2031, 1, 15, 12, tzinfo=UTC), "Bom dia!", "scheduled")
    listed = client.get("/scheduled/").get_data(as_text=True)
    assert "2031-01-15 09:00" in listed and "Bom dia!" in listed and "Ana Souza" in listed
    mine = client.get(f"/scheduled/contact/{contact_id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="contact-scheduled"' in mine and "Bom dia!" in mine and "<html" not in mine


@pytest.mark.parametrize("data, field, message", [
    ({"due_at": "2020-01-01T09:00", "body": "Late"}, "due_at", "Choose a time in the future."),
    ({"due_at": "2031-01-01T09:00", "body": "   "}, "body", "Write a message first."),
    ({"due_at": "2031-01-01T09:00", "body": "x" * 4097}, "body", "at most 4096 characters"),
])
def test_refused_input_comes_back_on_its_field(client, sandbox_owner, in_tenant, data, field, message):
    contact_id = a_contact(in_tenant, sandbox_owner.tenant_id)
    response = client.post(f"/scheduled/new/{contact_id}", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    tag = re.search(rf'<[^>]*\bid="{field}"[^>]*>', html).group(0)
    assert message in html and 'aria-invalid="true"' in tag
    with in_tenant(sandbox_owner.tenant_id):
        assert db.session.scalar(select(func.count(ScheduledMessage.id))) == 0


# --- queueing when due -----------------------------------------------------------------------------------------

def test_the_sweep_and_the_timed_job_queue_it_exactly_once(app, sandbox_owner, in_tenant, run_jobs):
    from jobs.scheduling import send_scheduled

    tenant_id = sandbox_owner.tenant_id
    contact_id = a_contact(in_tenant, tenant_id)
    scheduled_id = schedule(in_tenant, tenant_id, contact_id)
    assert send_scheduled(tenant_id, scheduled_id) == "skipped"  # not due yet: the job leaves it
    make_due(in_tenant, tenant_id, scheduled_id)
    assert send_scheduled(tenant_id, scheduled_id) == "queued"
    assert sweep() == {}
    assert send_scheduled(tenant_id, scheduled_id) == "skipped"
    run_jobs()
    messages = outbound(in_tenant, tenant_id)
    assert [(m.body, m.origin) for m in messages] == [("See you at 9", "scheduled")]
    assert messages[0].status in ("sent", "delivered", "read")
    item = row(in_tenant, tenant_id, scheduled_id)
    assert (item.status, item.message_id) == ("queued", messages[0].id)


def test_after_a_redis_flush_the_sweep_still_sends_it(app, sandbox_owner, in_tenant, run_jobs):
    tenant_id = sandbox_owner.tenant_id
    contact_id = a_contact(in_tenant, tenant_id)
    scheduled_id = schedule(in_tenant, tenant_id, contact_id, minutes=5)
    with app.app_context():
        get_redis().flushdb()  # the timed job is gone
    make_due(in_tenant, tenant_id, scheduled_id)
    assert sweep() == {"queued": 1, "not_sent": 0, "skipped": 0}
    run_jobs()
    assert [(m.body, m.status in ("sent", "delivered", "read")) for m in outbound(in_tenant, tenant_id)] == [
        ("See you at 9", True)]
    assert sweep() == {}


def test_a_text_due_after_the_window_closed_is_not_sent(app, client, graph, connected_cloud, in_tenant, run_jobs):
    tenant_id = connected_cloud.tenant_id
    with in_tenant(tenant_id):
        contact = make_contact(name="Ana Souza")
        add_message(contact, "in", "hi", minutes_ago=60)
        contact_id = contact.id
    page = client.get(f"/scheduled/new/{contact_id}").get_data(as_text=True)
    assert "The 24-hour window closes at" in page
    response = client.post(f"/scheduled/new/{contact_id}",
                           data={"due_at": local_in(30 * 60).strftime("%Y-%m-%dT%H:%M"), "body": "Still there?"})
    assert response.status_code == 303
    warned = client.get("/scheduled/").get_data(as_text=True)
    assert "before this time: a text will not be sent" in warned
    with in_tenant(tenant_id):
        scheduled_id = db.session.scalar(select(ScheduledMessage.id))
        db.session.execute(update(Contact).where(Contact.id == contact_id)
                           .values(last_inbound_at=utcnow() - timedelta(hours=25)))
    make_due(in_tenant, tenant_id, scheduled_id)
    assert sweep()["not_sent"] == 1
    run_jobs()
    item = row(in_tenant, tenant_id, scheduled_id)
    assert (item.status, item.reason, item.message_id) == ("not_sent", WINDOW_CLOSED, None)
    assert outbound(in_tenant, tenant_id) == [] and graph.sent == []
    listed = client.get("/scheduled/?show=all").get_data(as_text=True)
    assert "Not sent: the 24-hour window had closed; choose a template" in listed


def test_a_template_is_sent_when_due_even_outside_the_window(app, client, graph, connected_cloud, in_tenant,
                                                               run_jobs):
    tenant_id = connected_cloud.tenant_id
    graph.add_template(WABA_ID, "order_ready", "en_US",
                       components=[{"type": "BODY", "text": "Hi {{1}}, your order {{2}} is ready."}])
    assert client.post("/inbox/templates/sync", data={}).status_code == 303
    contact_id = a_contact(in_tenant, tenant_id)
    with in_tenant(tenant_id):
        from models import MessageTemplate
        template_id = db.session.scalar(select(MessageTemplate.id).where(MessageTemplate.name == "order_ready"))
    page = client.get(f"/scheduled/new/{contact_id}?template_id={template_id}").get_data(as_text=True)
    assert 'name="value_1"' in page
    when = local_in(90).strftime("%Y-%m-%dT%H:%M")
    missing = client.post(f"/scheduled/new/{contact_id}",
                          data={"due_at": when, "template_id": template_id, "value_0": "Ana", "value_1": " "})
    assert missing.status_code == 422 and "Fill in the value for {{2}}" in missing.get_data(as_text=True)
    done = client.post(f"/scheduled/new/{contact_id}",
                       data={"due_at": when, "template_id": template_id, "value_0": "Ana", "value_1": "A-17"})
    assert done.status_code == 303
    with in_tenant(tenant_id):
        item = db.session.scalar(select(ScheduledMessage))
        assert (item.template_name, item.template_variables, item.body) == ("order_ready", ["Ana", "A-17"], None)
        scheduled_id = item.id
    make_due(in_tenant, tenant_id, scheduled_id)
    sweep()
    run_jobs()
    assert [m.body for m in outbound(in_tenant, tenant_id)] == ["Hi Ana, your order A-17 is ready."]
    assert graph.sent[0]["template"]["name"] == "order_ready"


def test_an_opted_out_contact_is_not_messaged(app, sandbox_owner, in_tenant, run_jobs):
    tenant_id = sandbox_owner.tenant_id
    contact_id = a_contact(in_tenant, tenant_id)
    scheduled_id = schedule(in_tenant, tenant_id, contact_id)
    with in_tenant(tenant_id):
        db.session.execute(update(Contact).where(Contact.id == contact_id).values(opted_out=True))
    make_due(in_tenant, tenant_id, scheduled_id)
    assert sweep()["not_sent"] == 1
    run_jobs()
    item = row(in_tenant, tenant_id, scheduled_id)
    assert (item.status, item.reason) == ("not_sent", "Ana Souza opted out of messages.")
    assert outbound(in_tenant, tenant_id) == []


# --- edit and cancel -------------------------------------------------------------------------------------------

def test_edit_and_cancel_while_scheduled_only(app, client, sandbox_owner, in_tenant, run_jobs):
    tenant_id = sandbox_owner.tenant_id
    contact_id = a_contact(in_tenant, tenant_id)
    first, second = (schedule(in_tenant, tenant_id, contact_id) for _ in range(2))
    assert "See you at 9" in client.get(f"/scheduled/{first}/edit").get_data(as_text=True)
    edited = client.post(f"/scheduled/{first}/edit", data={"due_at": "2031-03-01T10:30", "body": "New time"})
    assert edited.status_code == 303
    item = row(in_tenant, tenant_id, first)
    assert (item.body, item.due_at) == ("New time", datetime(2031, 3, 1, 10, 30, tzinfo=UTC))
    assert client.post(f"/scheduled/{second}/cancel").status_code == 303
    assert row(in_tenant, tenant_id, second).status == "cancelled"
    # Once cancelled or queued, nothing changes it any more.
    make_due(in_tenant, tenant_id, first)
    sweep()
    for scheduled_id, status in ((first, "queued"), (second, "cancelled")):
        assert client.post(f"/scheduled/{scheduled_id}/edit", data={"due_at": "2031-03-01T10:30", "body": "x"}
                           ).status_code == 303
        assert client.post(f"/scheduled/{scheduled_id}/cancel").status_code == 303
        assert row(in_tenant, tenant_id, scheduled_id).status == status
    assert "no longer scheduled" in client.get("/scheduled/").get_data(as_text=True)
    with in_tenant(tenant_id):
        item = db.session.scalar(select(ScheduledMessage).where(ScheduledMessage.id == second))
        with pytest.raises(Invalid):
            update_scheduled(item, datetime(2031, 1, 1, 9), body="again")
        with pytest.raises(Invalid):
            cancel_scheduled(item)
    run_jobs()
    assert [m.body for m in outbound(in_tenant, tenant_id)] == ["New time"]


def test_moving_it_later_leaves_the_old_timed_job_with_nothing_to_do(app, sandbox_owner, in_tenant):
    from jobs.scheduling import send_scheduled

    tenant_id = sandbox_owner.tenant_id
    contact_id = a_contact(in_tenant, tenant_id)
    scheduled_id = schedule(in_tenant, tenant_id, contact_id)
    with in_tenant(tenant_id):
        item = db.session.scalar(select(ScheduledMessage).where(ScheduledMessage.id == scheduled_id))
        update_scheduled(item, local_in(24 * 60), body="Tomorrow")
    assert send_scheduled(tenant_id, scheduled_id) == "skipped"
    assert row(in_tenant, tenant_id, scheduled_id).status == "scheduled"


# --- concurrency on PostgreSQL ---------------------------------------------------------------------------------

def test_concurrent_sweeps_queue_each_message_once(app, sandbox_owner, in_tenant):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("two sessions sweeping at once need PostgreSQL (SQLite writes one transaction at a time)")
    from jobs.scheduling import send_scheduled

    tenant_id = sandbox_owner.tenant_id
    contact_id = a_contact(in_tenant, tenant_id)
    ids = [schedule(in_tenant, tenant_id, contact_id, body=f"Message {n}") for n in range(30)]
    with in_tenant(tenant_id):
        db.session.execute(update(ScheduledMessage).values(due_at=utcnow() - timedelta(seconds=1)))
    barrier = threading.Barrier(4)
    errors = []

    def run(kind: str) -> None:
        try:
            barrier.wait()
            if kind == "sweep":
                sweep()
            else:
                for scheduled_id in ids:
                    send_scheduled(tenant_id, scheduled_id)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in ("sweep", "sweep", "job", "job")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    messages = outbound(in_tenant, tenant_id)
    assert sorted(m.body for m in messages) == sorted(f"Message {n}" for n in range(30))
    with in_tenant(tenant_id):
        statuses = set(db.session.scalars(select(ScheduledMessage.status)))
        linked = set(db.session.scalars(select(ScheduledMessage.message_id)))
    assert statuses == {ScheduledStatus.QUEUED} and linked == {m.id for m in messages}


def test_a_scheduled_template_is_edited_with_its_variables(app, client, graph, connected_cloud, in_tenant):
    tenant_id = connected_cloud.tenant_id
    graph.add_template(WABA_ID, "order_ready", "en_US",
                       components=[{"type": "BODY", "text": "Hi {{1}}, your order {{2}} is ready."}])
    assert client.post("/inbox/templates/sync", data={}).status_code == 303
    contact_id = a_contact(in_tenant, tenant_id)
    with in_tenant(tenant_id):
        from models import MessageTemplate
        template = db.session.scalar(select(MessageTemplate).where(MessageTemplate.name == "order_ready"))
        contact = db.session.scalar(select(Contact).where(Contact.id == contact_id))
        scheduled_id = schedule_message(contact, local_in(60), template=template, variables=["Ana", "A-17"]).id
        template_id = template.id
    page = client.get(f"/scheduled/{scheduled_id}/edit").get_data(as_text=True)
    assert 'value="A-17"' in page and f'name="template_id" value="{template_id}"' in page
    response = client.post(f"/scheduled/{scheduled_id}/edit", data={
        "due_at": "2031-05-02T08:15", "template_id": template_id, "value_0": "Ana", "value_1": "B-22"})
    assert response.status_code == 303
    item = row(in_tenant, tenant_id, scheduled_id)
    assert (item.template_variables, item.due_at) == (["Ana", "B-22"], datetime(2031, 5, 2, 8, 15, tzinfo=UTC))
