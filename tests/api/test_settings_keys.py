"""Settings › API: a key is shown once, stored as a digest, listed, revoked; both are audited."""
from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from models import ApiKey, AuditEvent
from models.tenancy import tenant_scope
from services.crypto import token_digest


def test_a_key_is_shown_once_and_stored_as_a_digest(app, client, create_user, login):
    user = create_user()
    login(user)
    page = client.post("/settings/api", data={"name": "Shop backend", "access": "write"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    secret = re.search(r"(mh_[A-Za-z0-9_-]{20,})", html)[1]
    assert f"Authorization: Bearer {secret}" in html  # the curl example
    with app.app_context(), tenant_scope(user.tenant_id):
        key = db.session.scalar(select(ApiKey))
        assert key.key_digest == token_digest(secret) and key.scope_list == ["read", "write"]
        stored = [str(v) for v in db.session.execute(select(ApiKey.__table__)).one()]
    assert secret not in " ".join(stored)
    listing = client.get("/settings/api").get_data(as_text=True)
    assert "Shop backend" in listing and secret not in listing and key.key_hint in listing
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_a_refused_key_form_is_422(client, create_user, login):
    login(create_user())
    for data in ({"name": "", "access": "read"}, {"name": "x", "access": "admin"}):
        assert client.post("/settings/api", data=data).status_code == 422


def test_revoking_stops_the_key_and_both_steps_are_audited(app, client, create_user, login):
    user = create_user()
    login(user)
    html = client.post("/settings/api", data={"name": "Zapier", "access": "read"}).get_data(as_text=True)
    secret = re.search(r"(mh_[A-Za-z0-9_-]{20,})", html)[1]
    with app.app_context(), tenant_scope(user.tenant_id):
        key_id = db.session.scalar(select(ApiKey.id))
    assert client.post(f"/settings/api/{key_id}/revoke").status_code == 303
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert "Revoked" in client.get("/settings/api").get_data(as_text=True)
    with app.app_context(), tenant_scope(user.tenant_id):
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_kind, e.actor_id, e.target_id) for e in events if e.action.startswith("api_key")] == [
        ("api_key.created", AuditEvent.USER, user.id, key_id), ("api_key.revoked", AuditEvent.USER, user.id, key_id)]
    assert all("mh_" not in str(e.changes) for e in events)


def test_the_docs_page_and_document_are_served_without_a_cdn(client):
    document = client.get("/api/openapi.json")
    assert document.status_code == 200 and document.get_json()["openapi"].startswith("3.1")
    operations = [op for path in document.get_json()["paths"].values() for op in path.values()]
    assert len(operations) >= 20
    for operation in operations:  # the answers any request may get are declared, as problem+json
        for status in ("401", "403", "429"):
            assert list(operation["responses"][status]["content"]) == ["application/problem+json"]
    page = client.get("/api/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "/static/vendor/swagger-ui-" in html
    assert "http" not in re.sub(r'<!doctype html>|xmlns="[^"]*"', "", html).replace("http-equiv", "")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert client.get(src).status_code == 200
