"""The usage rollup counts each workspace's stored media bytes (the sizes saved files were recorded with), and
the admin tenants list shows them."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from extensions import db
from models import Message, TenantStats
from models.tenancy import tenant_scope, unscoped
from services.admin.rollup import media_totals, refresh_stats
from tests.factories import make_contact


def _with_media(tenant_id: int, *media: dict | None) -> None:
    with tenant_scope(tenant_id):
        contact = make_contact()
        for item in media:
            db.session.add(Message(contact_id=contact.id, direction="in", type="image" if item else "text",
                                   status="received", body="", media=item))
        db.session.commit()


def test_the_rollup_sums_stored_media_per_workspace(app, create_user, admin_user, admin_client):
    images, texts = create_user(tenant_name="Image Inn"), create_user(tenant_name="Text Tavern")
    with app.app_context():
        _with_media(images.tenant_id,
                    {"path": f"{images.tenant_id}/a.jpg", "mime_type": "image/jpeg", "size": 1_000_000},
                    {"path": f"{images.tenant_id}/b.pdf", "mime_type": "application/pdf", "size": 500_000},
                    {"id": "wamid-media", "mime_type": "image/jpeg"},  # not downloaded yet: no file stored
                    None)
        _with_media(texts.tenant_id, {"path": f"{texts.tenant_id}/c.png", "mime_type": "image/png", "size": 2_000},
                    None)
        refresh_stats()
        db.session.commit()
        with unscoped():
            stored = dict(db.session.execute(select(TenantStats.tenant_id, TenantStats.media_bytes)).all())
    assert stored[images.tenant_id] == 1_500_000 and stored[texts.tenant_id] == 2_000
    assert stored[admin_user.tenant_id] == 0
    page = admin_client.get("/admin/tenants?q=inn").get_data(as_text=True)
    assert '<td class="media-bytes">1.5 MB</td>' in page
    page = admin_client.get("/admin/tenants?q=tavern").get_data(as_text=True)
    assert '<td class="media-bytes">2.0 kB</td>' in page



def test_on_postgresql_the_media_sum_reads_its_partial_index(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("a PostgreSQL index (migration 0016); CI runs this on PostgreSQL")
        # Sequential scans priced out: the plan shows whether the index's predicate matches the statement's.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        sql = str(media_totals().compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(db.session.scalars(text(f"EXPLAIN {sql}")))
        db.session.rollback()
    assert "ix_messages_tenant_media_size" in plan
