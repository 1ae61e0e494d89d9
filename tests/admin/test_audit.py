"""The audit log: written for each audited action, never holding a secret, shown to its own workspace only,
and unalterable by the application on PostgreSQL."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from extensions import db
from models import AuditEvent
from models.tenancy import tenant_scope
from services.audit import FAILED_BURST, record
from services.broadcasts import cancel, confirm, save_broadcast
from tests.conftest import TEST_PASSWORD
from tests.factories import make_contact

from .conftest import APP_SECRET, TOKEN


def test_sign_in_is_recorded_with_the_user_and_address(app, create_user, login, audit_entries):
    user = create_user()
    login(user)
    [entry] = audit_entries("auth.signed_in")
    assert (entry["tenant_id"], entry["actor_kind"], entry["actor_id"]) == (user.tenant_id, "user", user.id)
    assert entry["actor_label"] == user.email and entry["ip"] == "127.0.0.1"
    assert (entry["target_type"], entry["target_id"]) == ("users", user.id)


def test_a_burst_of_failed_sign_ins_writes_one_entry(app, client, create_user, audit_entries):
    user = create_user()
    for _ in range(FAILED_BURST - 1):
        client.post("/login", data={"email": user.email, "password": "wrong-password-1"})
    assert audit_entries("auth.failed_sign_in_burst") == []
    for _ in range(3):
        client.post("/login", data={"email": user.email, "password": "wrong-password-1"})
    [entry] = audit_entries("auth.failed_sign_in_burst")
    assert entry["tenant_id"] == user.tenant_id and entry["changes"]["failures"] == FAILED_BURST
    assert "wrong-password" not in json.dumps(entry["changes"])
    assert audit_entries("auth.signed_in") == []


def test_saving_cloud_credentials_is_recorded_without_secrets(cloud_tenant, audit_entries):
    [entry] = audit_entries("channel.credentials_saved")
    assert entry["tenant_id"] == cloud_tenant.tenant_id and entry["actor_id"] == cloud_tenant.id
    stored = json.dumps(entry, default=str)
    assert TOKEN not in stored and APP_SECRET not in stored
    assert entry["changes"]["phone_number_id"]


def test_link_regenerate_and_unlink_are_recorded(app, client, create_user, login, audit_entries):
    user = create_user()
    login(user)
    assert client.post("/settings/whatsapp/sandbox").status_code == 303
    assert client.post("/settings/whatsapp/webhook/regenerate").status_code == 303
    assert client.post("/settings/whatsapp/disconnect").status_code == 303
    actions = [e["action"] for e in audit_entries() if e["action"].startswith("channel.")]
    assert actions == ["channel.link_started", "channel.webhook_regenerated", "channel.unlinked"]
    assert all(e["tenant_id"] == user.tenant_id for e in audit_entries() if e["action"].startswith("channel."))


def test_broadcasts_started_and_cancelled_are_recorded(app, create_user, in_tenant, audit_entries):
    user = create_user()
    with in_tenant(user.tenant_id):
        make_contact()
        broadcast = save_broadcast({"name": "Spring sale", "body": "Hi", "audience": {"kind": "all"}})
        confirm(broadcast)
        cancel(broadcast)
        broadcast_id = broadcast.id
    started, cancelled = audit_entries("broadcast.started"), audit_entries("broadcast.cancelled")
    assert [e["target_id"] for e in started + cancelled] == [broadcast_id, broadcast_id]
    assert started[0]["actor_kind"] == "system"  # no person behind it outside a request


def test_secrets_are_dropped_from_any_summary(app, create_user, in_tenant, audit_entries):
    user = create_user()
    with in_tenant(user.tenant_id):
        record("test.secrets", changes={"access_token": "t0k", "app_secret": "s3c", "password": "p",
                                        "nested": {"api_key": "k"}, "name": "kept"})
    [entry] = audit_entries("test.secrets")
    assert entry["changes"] == {"nested": None, "name": "kept"}


def test_the_workspace_sees_its_own_log_filtered_and_not_another(app, client, create_user, login, in_tenant):
    owner, other = create_user(), create_user()
    with in_tenant(other.tenant_id):
        record("contact.secret_other", changes={"name": "Other's entry"})
    with in_tenant(owner.tenant_id):
        record("broadcast.started", changes={"name": "Mine"})
    login(owner)
    page = client.get("/settings/audit").get_data(as_text=True)
    assert "<code>auth.signed_in</code>" in page and "<code>broadcast.started</code>" in page
    assert "Other&#39;s entry" not in page and "<code>contact.secret_other</code>" not in page
    filtered = client.get("/settings/audit?action=broadcast").get_data(as_text=True)
    assert "<code>broadcast.started</code>" in filtered and "<code>auth.signed_in</code>" not in filtered
    by_actor = client.get("/settings/audit?actor=system").get_data(as_text=True)
    assert "<code>broadcast.started</code>" in by_actor and "<code>auth.signed_in</code>" not in by_actor
    future = client.get("/settings/audit?since=2999-01-01").get_data(as_text=True)
    assert "No entries match" in future
    refused = client.get("/settings/audit?since=2026-02-01&until=2026-01-01")
    assert refused.status_code == 422 and "before the start date" in refused.get_data(as_text=True)


def test_the_log_pages(app, client, create_user, login, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        for n in range(60):
            record(f"test.entry_{n:02d}")
    login(user)
    first = client.get("/settings/audit").get_data(as_text=True)
    assert "<code>auth.signed_in</code>" in first and "<code>test.entry_00</code>" not in first and "Next" in first
    second = client.get("/settings/audit?page=2").get_data(as_text=True)
    assert "<code>test.entry_00</code>" in second


def test_the_application_role_cannot_change_or_remove_entries(pg, create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        record("test.kept", changes={"name": "original"})
    with pg.app_context():
        grants = db.session.execute(text(
            "SELECT has_table_privilege('audit_events', 'UPDATE'), has_table_privilege('audit_events', 'DELETE'), "
            "has_table_privilege('audit_events', 'INSERT')")).one()
        assert tuple(grants) == (False, False, True)
        with tenant_scope(user.tenant_id):
            for statement in ("UPDATE audit_events SET action = 'test.forged'", "DELETE FROM audit_events",
                              "TRUNCATE audit_events"):
                with pytest.raises(DBAPIError, match="permission denied"):
                    db.session.execute(text(statement))
                db.session.rollback()
            # Through the ORM too: the session refuses nothing itself, the database does.
            entry = db.session.query(AuditEvent).filter_by(action="test.kept").one()
            entry.action = "test.forged"
            with pytest.raises(DBAPIError, match="permission denied"):
                db.session.commit()
            db.session.rollback()
            assert db.session.execute(text("SELECT action FROM audit_events")).scalars().all() == ["test.kept"]


def test_even_with_the_grant_back_the_trigger_refuses(pg, owner_engine, create_user, in_tenant):
    """An operator who grants UPDATE and DELETE on every table again still cannot alter the log."""
    user = create_user()
    with in_tenant(user.tenant_id):
        record("test.kept")
    with owner_engine.begin() as conn:
        conn.execute(text("GRANT UPDATE, DELETE ON audit_events TO messagehub_app"))
    try:
        with pg.app_context(), tenant_scope(user.tenant_id):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text("DELETE FROM audit_events"))
            db.session.rollback()
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text("UPDATE audit_events SET action = 'x'"))
            db.session.rollback()
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("REVOKE UPDATE, DELETE ON audit_events FROM messagehub_app"))


def test_a_wrong_password_is_not_a_sign_in(app, client, create_user, audit_entries):
    user = create_user()
    client.post("/login", data={"email": user.email, "password": TEST_PASSWORD + "x"})
    assert audit_entries("auth.signed_in") == []
