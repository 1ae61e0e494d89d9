"""The admin console: hidden (404) from everyone but platform admins, the tenants list from the rollup, a tenant's
page without secrets, suspend / reinstate, force-disconnect, one-time password links, support views, queues."""
from __future__ import annotations

import json
import re

from sqlalchemy import select

from extensions import db
from models import Channel, Message, Tenant, WebhookEvent
from models.tenancy import tenant_scope, unscoped
from services.admin.rollup import refresh_stats
from services.outbox import queue_text
from tests.channels.helpers import channel_of
from tests.conftest import TEST_PASSWORD
from tests.factories import make_contact

from .conftest import APP_SECRET, GATEWAY_KEY, TOKEN


def admin_urls(app, tenant_id: int, user_id: int, contact_id: int) -> list[tuple[str, str]]:
    """(method, url) of every admin route, ids filled with a real workspace's."""
    values = {"tenant_id": tenant_id, "user_id": user_id, "contact_id": contact_id, "job_id": "some-job"}
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            url = rule.build({name: values[name] for name in rule.arguments})[1]
            found.extend((method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return found


def test_every_admin_route_is_404_to_workspace_users_and_visitors(app, create_user, login, in_tenant, admin_user):
    user = create_user()
    with in_tenant(user.tenant_id):
        contact_id = make_contact().id
    urls = admin_urls(app, user.tenant_id, user.id, contact_id)
    assert len(urls) >= 12
    visitor, member = app.test_client(), login(user, test_client=app.test_client())
    for method, url in urls:
        assert member.open(url, method=method).status_code == 404, f"{method} {url}"
        assert visitor.open(url, method=method).status_code == 404, f"{method} {url}"
    with app.app_context():
        assert db.session.get(Tenant, user.tenant_id).status == Tenant.ACTIVE


def test_an_admin_lands_on_the_console_with_its_menu(app, admin_client):
    response = admin_client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "Platform overview" in page and 'href="/admin/tenants"' in page and 'href="/admin/queues"' in page
    assert 'href="/inbox/"' not in page  # no empty workspace menu


def _message(tenant_id: int, direction: str, status: str = "sent", **fields) -> None:
    with tenant_scope(tenant_id):
        contact = make_contact()
        db.session.add(Message(contact_id=contact.id, direction=direction, type="text", status=status, body="hi",
                               **fields))
        db.session.commit()


def test_the_tenants_list_reads_the_rollup(app, create_user, admin_client):
    busy, quiet = create_user(tenant_name="Busy Bakery"), create_user(tenant_name="Quiet Quarry")
    with app.app_context():
        _message(busy.tenant_id, "out")
        _message(busy.tenant_id, "out", status="failed")
        _message(busy.tenant_id, "in")
        assert refresh_stats() == 3  # two workspaces and the admin's own
        db.session.commit()
    page = admin_client.get("/admin/tenants?sort=sent_30d").get_data(as_text=True)
    assert page.index("Busy Bakery") < page.index("Quiet Quarry")
    row = page[page.index("Busy Bakery"):page.index("Quiet Quarry")]
    assert busy.email in row and "2 / 1" in row and "3 contacts" not in row
    # A message after the rollup is not counted until the next one: the page does not count messages.
    with app.app_context():
        _message(busy.tenant_id, "out")
    row = admin_client.get("/admin/tenants?q=bakery").get_data(as_text=True)
    assert "2 / 1" in row and "Quiet Quarry" not in row
    assert admin_client.get(f"/admin/tenants?q={quiet.email}").get_data(as_text=True).count("Quiet Quarry") == 1
    ascending = admin_client.get("/admin/tenants?sort=name&dir=asc").get_data(as_text=True).split("<tbody>")[1]
    assert ascending.index("Busy Bakery") < ascending.index("Platform administration") < ascending.index("Quiet")


def test_the_tenants_list_pages(app, create_user, admin_client):
    for n in range(55):
        with app.app_context(), unscoped():
            db.session.add(Tenant(name=f"Paged {n:02d}"))
            db.session.commit()
    first = admin_client.get("/admin/tenants?sort=name&dir=asc").get_data(as_text=True)
    assert "Paged 00" in first and "Paged 54" not in first and "Next" in first
    second = admin_client.get("/admin/tenants?sort=name&dir=asc&page=2").get_data(as_text=True)
    assert "Paged 54" in second and "Paged 00" not in second


def test_the_tenant_page_shows_the_link_but_never_a_secret(app, cloud_tenant, admin_client, audit_entries):
    page = admin_client.get(f"/admin/tenants/{cloud_tenant.tenant_id}").get_data(as_text=True)
    assert 'id="link-kind">cloud' in page and cloud_tenant.email in page
    with app.app_context(), tenant_scope(cloud_tenant.tenant_id):
        channel = db.session.scalar(select(Channel))
        webhook_token, verify_token = channel.webhook_token, channel.verify_token
    for secret in (TOKEN, APP_SECRET, webhook_token, verify_token, GATEWAY_KEY):
        assert secret not in page
    [viewed] = audit_entries("admin.viewed_tenant")
    assert viewed["tenant_id"] == cloud_tenant.tenant_id and viewed["actor_kind"] == "admin"


def test_recent_errors_show_failed_messages_and_webhooks(app, create_user, admin_client, in_tenant):
    user = create_user()
    with app.app_context():
        _message(user.tenant_id, "out", status="failed", error_code="131026", error_title="Receiver unavailable")
    with in_tenant(user.tenant_id):
        from services.channels import ensure_channel

        db.session.add(WebhookEvent(channel_id=ensure_channel("sandbox").id, source="sandbox", body="{}",
                                    error="KeyError: 'entry'", attempts=3))
    page = admin_client.get(f"/admin/tenants/{user.tenant_id}").get_data(as_text=True)
    errors = page[page.index('id="recent-errors"'):]
    assert "Receiver unavailable" in errors and "KeyError" in errors


def test_suspending_ends_sessions_blocks_login_sending_and_processing(app, client, create_user, login, admin_client,
                                                                     in_tenant, run_jobs, audit_entries):
    user = create_user()
    login(user)
    with in_tenant(user.tenant_id):
        from services.channels import ensure_channel, set_state

        channel = ensure_channel("sandbox")
        set_state(channel, "connected")
        contact = make_contact()
        queued = queue_text(contact, "before the suspension").id
        event_id = None
        db.session.flush()
        event = WebhookEvent(channel_id=channel.id, source="sandbox", body=json.dumps({"events": []}))
        db.session.add(event)
        db.session.flush()
        event_id = event.id
    assert admin_client.post(f"/admin/tenants/{user.tenant_id}/suspend").status_code == 303
    # The open session ends; logging in again is refused.
    assert client.get("/contacts/").status_code == 302
    refused = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert refused.status_code == 422 and "suspended" in refused.get_data(as_text=True)
    # Sending stops with the reason on the message; stored webhooks wait unprocessed.
    from jobs.sending import send_message
    from jobs.webhooks import process_webhook_event

    assert send_message(user.tenant_id, queued) == "failed"
    assert process_webhook_event(user.tenant_id, event_id) == "suspended"
    # The batch sender and the workspace's webhook drain stop too.
    from jobs.sending import send_bulk
    from jobs.webhooks import drain_webhook_events

    assert send_bulk(user.tenant_id) == "refused"
    assert drain_webhook_events(user.tenant_id) == 0
    with in_tenant(user.tenant_id):
        message = db.session.get(Message, queued)
        assert message.status == "failed" and "suspended" in (message.error_title or "")
        assert db.session.get(WebhookEvent, event_id).processed_at is None
    assert [e["tenant_id"] for e in audit_entries("admin.tenant_suspended")] == [user.tenant_id]
    # Reinstated: logging in works and the stored event is processed.
    assert admin_client.post(f"/admin/tenants/{user.tenant_id}/unsuspend").status_code == 303
    login(user)
    assert process_webhook_event(user.tenant_id, event_id) is not None
    with in_tenant(user.tenant_id):
        assert db.session.get(WebhookEvent, event_id).processed_at is not None
    assert len(audit_entries("admin.tenant_unsuspended")) == 1


def test_force_disconnect_logs_out_and_deletes_the_gateway_instance(app, client, create_user, login, gateway,
                                                                    live_server, admin_client, audit_entries):
    user = create_user(tenant_name="QR Co")
    login(user)
    assert client.post("/settings/whatsapp/qr").status_code == 303
    name = channel_of(app, user.tenant_id).instance_name
    gateway.simulate_scan(name)
    assert name in gateway.instances
    response = admin_client.post(f"/admin/tenants/{user.tenant_id}/disconnect")
    assert response.status_code == 303
    assert name not in gateway.instances
    paths = [r.path for r in gateway.requests]
    assert any(p.startswith("/instance/logout/") for p in paths) and any(p.startswith("/instance/delete/")
                                                                          for p in paths)
    assert channel_of(app, user.tenant_id) is None
    [unlinked] = audit_entries("channel.unlinked")
    [action] = audit_entries("admin.whatsapp_disconnected")
    assert unlinked["tenant_id"] == action["tenant_id"] == user.tenant_id
    assert unlinked["actor_kind"] == "admin" and action["changes"] == {"kind": "gateway"}


def test_force_disconnect_drops_cloud_credentials(app, cloud_tenant, admin_client):
    assert admin_client.post(f"/admin/tenants/{cloud_tenant.tenant_id}/disconnect").status_code == 303
    with app.app_context(), unscoped():
        assert db.session.scalars(select(Channel)).all() == []
    again = admin_client.post(f"/admin/tenants/{cloud_tenant.tenant_id}/disconnect", follow_redirects=True)
    assert "no WhatsApp linked" in again.get_data(as_text=True)


def test_a_password_reset_link_works_once(app, create_user, login, admin_client, audit_entries):
    user = create_user()
    page = admin_client.post(f"/admin/tenants/{user.tenant_id}/users/{user.id}/reset-password").get_data(as_text=True)
    link = re.search(r'value="(http://testserver/reset-password/[^"]+)"', page).group(1)
    path = link[len("http://testserver"):]
    visitor = app.test_client()
    assert visitor.get(path).status_code == 200
    weak = visitor.post(path, data={"password": "short", "confirm": "short"})
    assert weak.status_code == 422
    new_password = "a-much-better-one-77"
    assert visitor.post(path, data={"password": new_password, "confirm": new_password}).status_code == 303
    assert visitor.get(path).status_code == 404  # used: the link is dead
    refused = app.test_client().post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert refused.status_code == 422
    login(user, password=new_password, test_client=app.test_client())
    assert [e["tenant_id"] for e in audit_entries("admin.password_reset_link")] == [user.tenant_id]
    assert link.split("/")[-1] not in json.dumps(audit_entries(), default=str)
    assert len(audit_entries("auth.password_reset")) == 1


def test_another_workspaces_user_gets_no_reset_link(app, create_user, admin_client):
    user, other = create_user(), create_user()
    response = admin_client.post(f"/admin/tenants/{user.tenant_id}/users/{other.id}/reset-password")
    assert response.status_code == 404


def test_support_views_are_written_to_the_workspaces_own_log(app, client, create_user, login, admin_client,
                                                             admin_user, in_tenant):
    user, other = create_user(), create_user()
    with in_tenant(user.tenant_id):
        contact = make_contact(name="Dana Support")
        db.session.add(Message(contact_id=contact.id, direction="in", type="text", status="received",
                               body="Where is my order?"))
        contact_id = contact.id
    with in_tenant(other.tenant_id):
        foreign_id = make_contact(name="Not Theirs").id
    listing = admin_client.get(f"/admin/tenants/{user.tenant_id}/contacts").get_data(as_text=True)
    assert "Dana Support" in listing and "Not Theirs" not in listing
    thread = admin_client.get(f"/admin/tenants/{user.tenant_id}/contacts/{contact_id}").get_data(as_text=True)
    assert "Where is my order?" in thread
    # Another workspace's contact is not reachable through this workspace's page.
    assert admin_client.get(f"/admin/tenants/{user.tenant_id}/contacts/{foreign_id}").status_code == 404
    login(user)
    own_log = client.get("/settings/audit").get_data(as_text=True)
    assert "<code>admin.viewed_contacts</code>" in own_log and "<code>admin.viewed_conversation</code>" in own_log
    assert admin_user.email in own_log and "platform admin" in own_log


def test_the_admin_audit_log_shows_every_workspace(app, create_user, login, admin_client):
    first, second = create_user(), create_user()
    login(first, test_client=app.test_client())
    login(second, test_client=app.test_client())
    page = admin_client.get("/admin/audit?action=signed_in").get_data(as_text=True)
    assert first.email in page and second.email in page
    only = admin_client.get(f"/admin/audit?tenant={first.tenant_id}").get_data(as_text=True)
    assert first.email in only and second.email not in only


def test_queue_health_lists_failed_jobs_and_requeues_them(app, admin_client, run_jobs):
    from services.queueing import queue

    with app.app_context():
        job = queue("default").enqueue("jobs.no_such_module.boom", 41)
    run_jobs("default")
    page = admin_client.get("/admin/queues").get_data(as_text=True)
    assert "jobs.no_such_module.boom" in page and "ValueError: Invalid attribute name: boom" in page
    assert job.id in page
    assert admin_client.post(f"/admin/queues/jobs/{job.id}/requeue").status_code == 303
    with app.app_context():
        assert job.id in queue("default").job_ids
    gone = admin_client.post("/admin/queues/jobs/not-a-job/requeue", follow_redirects=True)
    assert "That job is gone" in gone.get_data(as_text=True)
