"""Quotas: set by admins (defaults from config), refused where the action happens with the numbers; and the
daily unlinking of idle device links."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Broadcast, BroadcastRecipient, Channel, Contact, Message, Tenant
from models.base import utcnow
from services.broadcasts import save_broadcast
from services.channels import ensure_channel, set_state
from services.outbox import SendRefused, queue_text
from tests.channels.helpers import channel_of
from tests.factories import make_contact


def set_quota(app, tenant_id: int, **values) -> None:
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        for key, value in values.items():
            setattr(tenant, key, value)
        db.session.commit()


def test_defaults_come_from_config(app, create_user, in_tenant):
    from services.quotas import contact_usage, message_usage

    user = create_user()
    with in_tenant(user.tenant_id):
        assert contact_usage().limit == app.config["QUOTA_CONTACTS"] == 50000
        assert message_usage().limit == app.config["QUOTA_MESSAGES_PER_DAY"] == 10000


def test_creating_a_contact_past_the_quota_is_refused_with_the_numbers(app, client, create_user, login, in_tenant):
    user = create_user()
    set_quota(app, user.tenant_id, quota_contacts=2)
    with in_tenant(user.tenant_id):
        make_contact()
    login(user)
    assert client.post("/contacts/new", data={"name": "Second", "phone": "+14155550102"}).status_code == 303
    refused = client.post("/contacts/new", data={"name": "Third", "phone": "+14155550103"})
    assert refused.status_code == 422
    assert "limit of 2 contacts (2 stored, 0 left)" in refused.get_data(as_text=True)
    with in_tenant(user.tenant_id):
        assert db.session.scalar(select(func.count(Contact.id))) == 2
        second = db.session.scalar(select(Contact).where(Contact.name == "Second"))
        second_id = second.id
    # Editing an existing contact at the limit is not adding one.
    edited = client.post(f"/contacts/{second_id}/edit", data={"name": "Second, edited", "phone": "+14155550102"})
    assert edited.status_code == 303


def _sending_tenant(app, create_user, in_tenant, **quota):
    user = create_user()
    set_quota(app, user.tenant_id, **quota)
    with in_tenant(user.tenant_id):
        set_state(ensure_channel("sandbox"), "connected")
    return user


def test_queueing_past_the_daily_quota_is_refused_with_the_numbers(app, create_user, in_tenant):
    user = _sending_tenant(app, create_user, in_tenant, quota_messages_per_day=2)
    with in_tenant(user.tenant_id):
        contact = make_contact()
        # Yesterday's messages do not count against today.
        db.session.add(Message(contact_id=contact.id, direction="out", type="text", status="sent", body="old",
                               created_at=utcnow() - timedelta(days=1)))
        queue_text(contact, "one")
        queue_text(contact, "two")
        with pytest.raises(SendRefused, match=r"2 messages a day, 2 queued today, 0 left"):
            queue_text(contact, "three")
        db.session.rollback()
        assert db.session.scalar(select(func.count(Message.id)).where(Message.body == "three")) == 0


def test_the_inbox_shows_the_quota_refusal(app, client, create_user, login, in_tenant):
    user = _sending_tenant(app, create_user, in_tenant, quota_messages_per_day=0)
    with in_tenant(user.tenant_id):
        contact_id = make_contact().id
    login(user)
    response = client.post(f"/inbox/{contact_id}/messages", data={"body": "hello"})
    assert "0 messages a day, 0 queued today, 0 left" in response.get_data(as_text=True)


def test_a_broadcast_larger_than_the_days_remainder_is_refused_up_front(app, client, create_user, login,
                                                                         in_tenant):
    user = _sending_tenant(app, create_user, in_tenant, quota_messages_per_day=5)
    with in_tenant(user.tenant_id):
        contacts = [make_contact() for _ in range(4)]
        queue_text(contacts[0], "already today")
        queue_text(contacts[1], "and another")
        broadcast_id = save_broadcast({"name": "Too big", "body": "Hi", "audience": {"kind": "all"}}).id
    login(user)
    response = client.post(f"/broadcasts/{broadcast_id}/start", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "5 messages a day, 2 queued today, 3 left; this needs 4" in page
    with in_tenant(user.tenant_id):
        assert db.session.get(Broadcast, broadcast_id).status == "draft"
        assert db.session.scalar(select(func.count(BroadcastRecipient.id))) == 0
    # Room made: the same broadcast starts.
    set_quota(app, user.tenant_id, quota_messages_per_day=6)
    client.post(f"/broadcasts/{broadcast_id}/start")
    with in_tenant(user.tenant_id):
        assert db.session.get(Broadcast, broadcast_id).status == "sending"


def test_an_admin_sets_quotas_and_a_bad_value_is_refused(app, create_user, admin_client, audit_entries):
    user = create_user()
    url = f"/admin/tenants/{user.tenant_id}/quotas"
    assert admin_client.post(url, data={"contacts": "100", "messages_per_day": ""}).status_code == 303
    with app.app_context():
        tenant = db.session.get(Tenant, user.tenant_id)
        assert (tenant.quota_contacts, tenant.quota_messages_per_day) == (100, None)
    refused = admin_client.post(url, data={"contacts": "-5", "messages_per_day": "x"})
    assert refused.status_code == 422
    with app.app_context():
        assert db.session.get(Tenant, user.tenant_id).quota_contacts == 100
    [entry] = audit_entries("admin.quotas_set")
    assert entry["changes"] == {"before": {"contacts": None, "messages_per_day": None},
                                "after": {"contacts": 100, "messages_per_day": None}}
    page = admin_client.get(f"/admin/tenants/{user.tenant_id}").get_data(as_text=True)
    assert 'id="usage-contacts">0 of 100 (0%)' in page


@pytest.fixture
def linked_device(app, client, create_user, login, gateway, live_server):
    """A workspace whose phone is linked through the (fake) gateway."""
    def make(name: str):
        user = create_user(tenant_name=name)
        login(user, test_client=client)
        assert client.post("/settings/whatsapp/qr").status_code == 303
        gateway.simulate_scan(channel_of(app, user.tenant_id).instance_name)
        client.post("/logout")
        return user

    return make


def _age(app, tenant_id: int, days: int) -> None:
    with app.app_context():
        from models.tenancy import tenant_scope

        with tenant_scope(tenant_id):
            channel = db.session.scalar(select(Channel))
            channel.last_activity_at = channel.state_changed_at = utcnow() - timedelta(days=days)
            channel.created_at = utcnow() - timedelta(days=days + 5)
            db.session.commit()


def test_idle_device_links_are_unlinked_daily_and_say_why(app, gateway, linked_device, in_tenant, audit_entries):
    from jobs.admin import unlink_idle_devices

    idle, recent, busy = linked_device("Idle"), linked_device("Recent"), linked_device("Busy")
    _age(app, idle.tenant_id, 31)
    _age(app, recent.tenant_id, 29)
    _age(app, busy.tenant_id, 40)
    with in_tenant(busy.tenant_id):
        db.session.add(Message(contact_id=make_contact().id, direction="out", type="text", status="sent",
                               body="still in use"))
    idle_instance = channel_of(app, idle.tenant_id).instance_name
    assert unlink_idle_devices() == 1
    assert idle_instance not in gateway.instances
    channel = channel_of(app, idle.tenant_id)
    assert channel.state == "disconnected" and "30 days without activity" in channel.state_detail
    assert channel.instance_name is None
    assert channel_of(app, recent.tenant_id).instance_name in gateway.instances
    assert channel_of(app, busy.tenant_id).instance_name in gateway.instances
    [entry] = audit_entries("channel.unlinked_inactive")
    assert entry["tenant_id"] == idle.tenant_id and entry["actor_kind"] == "system"
    assert unlink_idle_devices() == 0  # nothing left to do, nothing done twice


def test_the_workspace_sees_why_its_idle_link_was_unlinked(app, client, login, linked_device):
    from jobs.admin import unlink_idle_devices

    idle = linked_device("Idle")
    _age(app, idle.tenant_id, 31)
    assert unlink_idle_devices() == 1
    login(idle, test_client=client)
    page = client.get("/settings/whatsapp").get_data(as_text=True)
    status = page[page.index('id="link-status"'):]
    assert "Disconnected." in status
    assert 'id="link-detail">Unlinked after 30 days without activity. Link again with a new QR code' in status


def test_the_rollup_job_commits_its_figures(app, create_user, admin_client):
    from jobs.admin import refresh_tenant_stats

    create_user(tenant_name="Counted Co")
    assert refresh_tenant_stats() == 2
    page = admin_client.get("/admin/tenants").get_data(as_text=True)
    assert "Counted Co" in page


def test_a_scheduled_broadcast_over_the_quota_goes_back_to_draft_saying_why(app, client, create_user, login,
                                                                             in_tenant):
    from jobs.broadcasts import start_due_broadcasts

    user = _sending_tenant(app, create_user, in_tenant, quota_messages_per_day=1)
    with in_tenant(user.tenant_id):
        for _ in range(3):
            make_contact()
        broadcast = save_broadcast({"name": "Later", "body": "Hi", "audience": {"kind": "all"}})
        broadcast.status, broadcast.scheduled_at = "scheduled", utcnow() - timedelta(minutes=1)
        broadcast_id = broadcast.id
    assert start_due_broadcasts() == {"started": 0}
    with in_tenant(user.tenant_id):
        refused = db.session.get(Broadcast, broadcast_id)
        assert refused.status == "draft" and "1 message a day, 0 queued today, 1 left; this needs 3" in refused.error
    login(user)
    page = client.get(f"/broadcasts/{broadcast_id}").get_data(as_text=True)
    assert "this needs 3" in page
